"""URL configuration of the local provider: DOT under /o/, the login page and the echo resource."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from demo.provider.views import EchoView

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(extra_context={"provider_name": "demo provider"}),
        name="login",
    ),
    path("api/echo/", EchoView.as_view(), name="echo"),
    path("api/echo/<path:rest>", EchoView.as_view(), name="echo-path"),
]
