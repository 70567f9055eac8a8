"""Tests of the linked-accounts endpoints: listing, showing and unlinking with token revocation."""

import logging
from datetime import datetime, timezone
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.contrib.auth import get_user_model

from allaccess_api.models import AccountAccess, Protocol, TokenAuthMethod
from allaccess_api.tokens import issue_tokens
from tests.conftest import CLIENT_SECRET, make_provider, strip_detail

User = get_user_model()
REVOCATION_URL = "https://example.test/oauth/revoke"
EXPIRES_AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def user(db):
    return User.objects.create_user("alice")


@pytest.fixture
def account(provider, user):
    return AccountAccess.objects.create(
        provider=provider, user=user, identifier="583231", access_token="tok_access_1", refresh_token="ref_1",
        token_type="Bearer", expires_at=EXPIRES_AT, scope=["read:user"],
    )


@pytest.fixture
def client(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user).access}")
    return api_client


def expected_account(account):
    return {
        "id": account.pk,
        "provider": account.provider.name,
        "identifier": account.identifier,
        "created": account.created.isoformat().replace("+00:00", "Z"),
        "modified": account.modified.isoformat().replace("+00:00", "Z"),
        "scope": account.scope,
        "expires_at": None if account.expires_at is None else account.expires_at.isoformat().replace("+00:00", "Z"),
        "status": account.status,
    }


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert strip_detail(response.json()) == {"type": "client_error", "errors": [{"code": code, "attr": None}]}


def second_account(user, name="gitlab", **fields):
    provider = make_provider(name, **fields)
    return AccountAccess.objects.create(provider=provider, user=user, identifier="7", access_token="tok_g",
                                        refresh_token="ref_g")


def form_of(call):
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


# Listing and showing


def test_list_returns_own_accounts(client, account, user):
    other = second_account(user)
    AccountAccess.objects.create(provider=account.provider, user=User.objects.create_user("bob"), identifier="9")

    response = client.get("/api/v1/accounts/")

    assert response.status_code == 200
    account.refresh_from_db()
    assert response.json() == [expected_account(account), expected_account(other)]


def test_list_requires_sign_in(api_client, account):
    assert_error(api_client.get("/api/v1/accounts/"), 401, "not_authenticated")


def test_detail_returns_account(client, account):
    response = client.get(f"/api/v1/accounts/{account.pk}/")

    assert response.status_code == 200
    account.refresh_from_db()
    assert response.json() == expected_account(account)


def test_detail_of_other_user_not_found(client, provider):
    theirs = AccountAccess.objects.create(provider=provider, user=User.objects.create_user("bob"), identifier="9")

    assert_error(client.get(f"/api/v1/accounts/{theirs.pk}/"), 404, "not_found")


def test_detail_of_missing_account_not_found(client, account):
    assert_error(client.get(f"/api/v1/accounts/{account.pk + 1000}/"), 404, "not_found")


def test_responses_contain_no_token(client, account):
    account.token_secret = "sec_1"
    account.save()

    bodies = client.get("/api/v1/accounts/").content + client.get(f"/api/v1/accounts/{account.pk}/").content

    for secret in (b"tok_access_1", b"ref_1", b"sec_1", CLIENT_SECRET.encode()):
        assert secret not in bodies


# Unlinking


def test_unlink_with_usable_password(client, account, user):
    user.set_password("correct horse battery staple")
    user.save()

    response = client.delete(f"/api/v1/accounts/{account.pk}/")

    assert response.status_code == 204
    assert not AccountAccess.objects.exists()


def test_unlink_one_of_two_accounts(client, account, user):
    other = second_account(user)

    response = client.delete(f"/api/v1/accounts/{account.pk}/")

    assert response.status_code == 204
    assert list(AccountAccess.objects.values_list("pk", flat=True)) == [other.pk]


def test_unlink_last_login_method_rejected(client, account, mock_http):
    account.provider.revocation_url = REVOCATION_URL
    account.provider.save()

    response = client.delete(f"/api/v1/accounts/{account.pk}/")

    assert_error(response, 409, "last_login_method")
    assert AccountAccess.objects.filter(pk=account.pk).exists()
    assert len(mock_http.calls) == 0


def test_unlink_other_users_account_not_found(client, account, provider):
    theirs = AccountAccess.objects.create(provider=provider, user=User.objects.create_user("bob"), identifier="9")

    response = client.delete(f"/api/v1/accounts/{theirs.pk}/")

    assert_error(response, 404, "not_found")
    assert AccountAccess.objects.filter(pk=theirs.pk).exists()


def test_unlink_without_revocation_url_sends_nothing(client, account, user, mock_http):
    second_account(user)

    assert client.delete(f"/api/v1/accounts/{account.pk}/").status_code == 204
    assert len(mock_http.calls) == 0


def test_unlink_revokes_tokens_with_post_credentials(client, account, user, mock_http):
    second_account(user)
    account.provider.revocation_url = REVOCATION_URL
    account.provider.save()
    revoke = mock_http.add(responses.POST, REVOCATION_URL, body="")

    assert client.delete(f"/api/v1/accounts/{account.pk}/").status_code == 204

    forms = [form_of(call) for call in revoke.calls]
    client_fields = {"client_id": "example-client-id", "client_secret": CLIENT_SECRET}
    assert forms == [
        {"token": "ref_1", "token_type_hint": "refresh_token", **client_fields},
        {"token": "tok_access_1", "token_type_hint": "access_token", **client_fields},
    ]
    assert "Authorization" not in revoke.calls[0].request.headers


def test_unlink_revokes_tokens_with_basic_credentials(client, account, user, mock_http):
    second_account(user)
    account.provider.revocation_url = REVOCATION_URL
    account.provider.token_auth_method = TokenAuthMethod.CLIENT_SECRET_BASIC
    account.provider.save()
    revoke = mock_http.add(responses.POST, REVOCATION_URL, body="")

    assert client.delete(f"/api/v1/accounts/{account.pk}/").status_code == 204

    request = revoke.calls[0].request
    expected = requests.auth._basic_auth_str("example-client-id", CLIENT_SECRET)
    assert request.headers["Authorization"] == expected
    assert form_of(revoke.calls[0]) == {"token": "ref_1", "token_type_hint": "refresh_token"}


@pytest.mark.parametrize("failure", [
    {"status": 503, "body": "<html>down</html>"},
    {"body": requests.exceptions.ConnectionError()},
    {"body": requests.exceptions.ReadTimeout()},
    {"status": 400, "json": {"error": "unsupported_token_type"}},
])
def test_failed_revocation_still_unlinks(client, account, user, mock_http, caplog, failure):
    second_account(user)
    account.provider.revocation_url = REVOCATION_URL
    account.provider.save()
    mock_http.add(responses.POST, REVOCATION_URL, **failure)

    response = client.delete(f"/api/v1/accounts/{account.pk}/")

    assert response.status_code == 204
    assert not AccountAccess.objects.filter(pk=account.pk).exists()
    assert "Token revocation failed" in caplog.text


def test_revocation_logs_no_token(client, account, user, mock_http, caplog):
    caplog.set_level(logging.DEBUG)
    second_account(user)
    account.provider.revocation_url = REVOCATION_URL
    account.provider.save()
    mock_http.add(responses.POST, REVOCATION_URL, status=503)

    client.delete(f"/api/v1/accounts/{account.pk}/")

    for secret in ("tok_access_1", "ref_1", CLIENT_SECRET):
        assert secret not in caplog.text


def test_oauth1_account_is_not_revoked(client, user, mock_http):
    provider = make_provider("twitter", protocol=Protocol.OAUTH1, request_token_url="https://twitter.test/request",
                             revocation_url=REVOCATION_URL)
    account = AccountAccess.objects.create(provider=provider, user=user, identifier="12", access_token="tok_o1",
                                           token_secret="sec_o1")
    second_account(user)

    assert client.delete(f"/api/v1/accounts/{account.pk}/").status_code == 204
    assert len(mock_http.calls) == 0
