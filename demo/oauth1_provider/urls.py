"""URL configuration of the local OAuth 1.0a provider."""

from django.contrib.auth import views as auth_views
from django.urls import path

from demo.oauth1_provider import views

urlpatterns = [
    path("oauth/request_token", views.request_token, name="request_token"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/access_token", views.access_token, name="access_token"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(extra_context={"provider_name": "demo OAuth 1.0a provider"}),
        name="login",
    ),
    path("1.1/account/verify_credentials.json", views.verify_credentials, name="verify_credentials"),
    path("1.1/echo/", views.echo, name="echo"),
    path("1.1/echo/<path:rest>", views.echo, name="echo-path"),
]
