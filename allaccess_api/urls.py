"""URLs of the API; include under a prefix such as ``api/v1/``."""

from django.urls import path

from allaccess_api import views

app_name = "allaccess_api"

urlpatterns = [
    path("providers/", views.ProviderListView.as_view(), name="provider-list"),
    path("providers/<str:name>/", views.ProviderDetailView.as_view(), name="provider-detail"),
    path("providers/<str:name>/authorize/", views.AuthorizeView.as_view(), name="provider-authorize"),
    path("providers/<str:name>/callback/", views.CallbackView.as_view(), name="provider-callback"),
    path("auth/refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", views.MeView.as_view(), name="auth-me"),
]
