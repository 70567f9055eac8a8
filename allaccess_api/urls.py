"""URLs of the API; include under a prefix such as ``api/v1/``."""

from django.urls import path, re_path

from allaccess_api import views

app_name = "allaccess_api"

urlpatterns = [
    path("providers/", views.ProviderListView.as_view(), name="provider-list"),
    path("providers/<str:name>/", views.ProviderDetailView.as_view(), name="provider-detail"),
    path("providers/<str:name>/authorize/", views.AuthorizeView.as_view(), name="provider-authorize"),
    path("providers/<str:name>/callback/", views.CallbackView.as_view(), name="provider-callback"),
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
    path("accounts/<int:account_id>/", views.AccountDetailView.as_view(), name="account-detail"),
    # Unlike <path:...>, the path group also matches line breaks, so the proxy rejects them as
    # path_not_allowed instead of the router returning 404.
    re_path(r"^accounts/(?P<account_id>[0-9]+)/proxy/(?P<path>[\s\S]+)\Z", views.AccountProxyView.as_view(),
            name="account-proxy"),
    path("auth/refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", views.MeView.as_view(), name="auth-me"),
]
