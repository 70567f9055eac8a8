"""Tests of the Django admin: secrets are write-only, tokens never shown, flow records not addable."""

import json

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from allaccess_api.models import AccountAccess, PendingAuthorization, Provider
from tests.conftest import CLIENT_SECRET

ACCESS_TOKEN = "gho_admin-page-access-token"
REFRESH_TOKEN = "ghr_admin-page-refresh-token"
TOKEN_SECRET = "admin-page-token-secret"


def raw_column(model, column, pk):
    """Return one stored cell as plain SQL reads it: the ciphertext of an encrypted field."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def provider_form_data(provider, **overrides):
    """Return the POST data of the Provider change form with the stored values filled in."""
    data = {
        "name": provider.name,
        "display_name": provider.display_name,
        "protocol": provider.protocol,
        "request_token_url": provider.request_token_url,
        "authorization_url": provider.authorization_url,
        "access_token_url": provider.access_token_url,
        "profile_url": provider.profile_url,
        "api_base_url": provider.api_base_url,
        "scope": json.dumps(provider.scope),
        "identifier_path": provider.identifier_path,
        "token_auth_method": provider.token_auth_method,
        "api_headers": json.dumps(provider.api_headers),
        "client_id": provider.client_id,
        "client_secret": "",
    }
    for field in ("pkce", "trust_email", "legacy_oauth1", "enabled"):
        if getattr(provider, field):
            data[field] = "on"
    data.update(overrides)
    return data


def change_url(obj):
    return reverse(f"admin:allaccess_api_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def account(provider):
    user = get_user_model().objects.create_user("octocat")
    return AccountAccess.objects.create(
        provider=provider,
        identifier="583231",
        user=user,
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        token_secret=TOKEN_SECRET,
        scope=["read:user"],
    )


@pytest.fixture
def admin_request(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


# Provider


def test_provider_change_page_renders(admin_client, provider):
    response = admin_client.get(change_url(provider))

    assert response.status_code == 200
    assert provider.client_id in response.content.decode()


def test_provider_change_page_hides_secret(admin_client, provider):
    html = admin_client.get(change_url(provider)).content.decode()

    assert CLIENT_SECRET not in html
    assert raw_column(Provider, "client_secret", provider.pk) not in html


def test_provider_list_page_hides_secret(admin_client, provider):
    response = admin_client.get(reverse("admin:allaccess_api_provider_changelist"))

    assert response.status_code == 200
    assert CLIENT_SECRET not in response.content.decode()


def test_provider_empty_secret_keeps_stored(admin_client, provider):
    response = admin_client.post(change_url(provider), provider_form_data(provider, display_name="Renamed"))

    provider.refresh_from_db()
    assert response.status_code == 302
    assert provider.display_name == "Renamed"
    assert provider.client_secret == CLIENT_SECRET


def test_provider_new_secret_replaces_stored(admin_client, provider):
    response = admin_client.post(change_url(provider), provider_form_data(provider, client_secret="new-secret-2"))

    provider.refresh_from_db()
    assert response.status_code == 302
    assert provider.client_secret == "new-secret-2"


def test_provider_clear_removes_secret(admin_client, provider):
    response = admin_client.post(change_url(provider), provider_form_data(provider, clear_client_secret="on"))

    provider.refresh_from_db()
    assert response.status_code == 302
    assert provider.client_secret == ""
    assert not provider.is_enabled


def test_provider_add_stores_secret(admin_client, provider):
    data = provider_form_data(provider, name="gitlab", client_secret="gitlab-secret-1")

    response = admin_client.post(reverse("admin:allaccess_api_provider_add"), data)

    assert response.status_code == 302
    assert Provider.objects.get(name="gitlab").client_secret == "gitlab-secret-1"


def test_provider_save_rejects_http_url(admin_client, provider):
    data = provider_form_data(provider, authorization_url="http://example.test/oauth/authorize")

    response = admin_client.post(change_url(provider), data)

    provider.refresh_from_db()
    assert response.status_code == 200
    assert "authorization_url" in response.context["adminform"].form.errors
    assert provider.authorization_url == "https://example.test/oauth/authorize"


def test_provider_invalid_form_hides_secret(admin_client, provider):
    data = provider_form_data(provider, authorization_url="http://example.test/oauth/authorize",
                              client_secret="typed-secret-3")

    html = admin_client.post(change_url(provider), data).content.decode()

    assert "typed-secret-3" not in html
    assert CLIENT_SECRET not in html


# AccountAccess


def test_account_change_page_renders(admin_client, account):
    response = admin_client.get(change_url(account))

    assert response.status_code == 200
    assert account.identifier in response.content.decode()


def test_account_change_page_hides_tokens(admin_client, account):
    html = admin_client.get(change_url(account)).content.decode()

    assert ACCESS_TOKEN not in html
    assert REFRESH_TOKEN not in html
    assert TOKEN_SECRET not in html


def test_account_change_page_hides_ciphertext(admin_client, account):
    html = admin_client.get(change_url(account)).content.decode()

    for column in ("access_token", "refresh_token", "token_secret"):
        assert raw_column(AccountAccess, column, account.pk) not in html


def test_account_list_page_hides_tokens(admin_client, account):
    html = admin_client.get(reverse("admin:allaccess_api_accountaccess_changelist")).content.decode()

    assert ACCESS_TOKEN not in html
    assert REFRESH_TOKEN not in html


def test_account_admin_has_no_add_permission(admin_request):
    assert admin.site._registry[AccountAccess].has_add_permission(admin_request) is False


def test_account_add_page_forbidden(admin_client):
    response = admin_client.get(reverse("admin:allaccess_api_accountaccess_add"))

    assert response.status_code == 403


# PendingAuthorization


def test_pending_admin_has_no_add_permission(admin_request):
    assert admin.site._registry[PendingAuthorization].has_add_permission(admin_request) is False


def test_pending_add_page_forbidden(admin_client):
    response = admin_client.get(reverse("admin:allaccess_api_pendingauthorization_add"))

    assert response.status_code == 403


def test_pending_page_hides_verifier_and_nonce(admin_client, start_flow, oidc_provider):
    start_flow(oidc_provider)
    pending = PendingAuthorization.objects.get()

    response = admin_client.get(change_url(pending))

    html = response.content.decode()
    assert response.status_code == 200
    assert pending.pkce_verifier not in html
    assert pending.nonce not in html
