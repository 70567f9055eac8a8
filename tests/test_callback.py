"""POST providers/{name}/callback/: finishing flows, linking users, issuing JWTs."""

import base64
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from allaccess_api.models import AccountAccess, AccountStatus, PendingAuthorization
from allaccess_api.tokens import issue_tokens
from tests.conftest import (
    CLIENT_SECRET,
    REDIRECT_URI,
    add_profile_response,
    add_token_response,
    assert_error,
    assert_nothing_stored,
    make_provider,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


def token_request_form(call):
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}




def test_sign_in_creates_user_and_account(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flow = start_flow(provider)

    response = flow.callback(code="code-1")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "user", "account", "user_created", "account_created"}
    assert body["user_created"] is True
    assert body["account_created"] is True
    user = User.objects.get()
    assert body["user"] == {"id": user.pk, "username": "octocat", "email": "octocat@example.org",
                            "first_name": "Mona Lisa", "last_name": "Octocat"}
    account = AccountAccess.objects.get()
    assert body["account"]["id"] == account.pk
    assert body["account"]["provider"] == "example"
    assert body["account"]["identifier"] == "583231"
    assert body["account"]["scope"] == ["read:user", "user:email"]
    assert body["account"]["status"] == "active"
    assert set(body["account"]) == {"id", "provider", "identifier", "created", "modified", "scope",
                                    "expires_at", "status"}
    assert AccessToken(body["access"])["user_id"] == str(user.pk)


def test_sign_in_stores_tokens_on_account(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    start_flow(provider).callback(code="code-1")

    account = AccountAccess.objects.get()
    assert account.access_token == "tok_access_1"
    assert account.refresh_token == "ref_1"
    assert account.token_type == "Bearer"
    assert timedelta(minutes=59) < account.expires_at - timezone.now() <= timedelta(hours=1)


def test_token_request_parameters(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flow = start_flow(provider)

    flow.callback(code="code-1")

    assert token_call.call_count == 1
    request = token_call.calls[0].request
    form = token_request_form(token_call.calls[0])
    pending = PendingAuthorization.objects.get()
    assert form == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pending.pkce_verifier,
        "client_id": "example-client-id",
        "client_secret": CLIENT_SECRET,
    }
    assert form["code_verifier"] != flow.verifier
    assert request.headers["Accept"] == "application/json"
    assert "Authorization" not in request.headers


def test_token_request_uses_basic_auth_when_configured(start_flow, db, mock_http):
    provider = make_provider(token_auth_method="client_secret_basic", client_id="id:with space")
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    form = token_request_form(token_call.calls[0])
    assert "client_secret" not in form
    assert "client_id" not in form
    scheme, _, encoded = token_call.calls[0].request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    # RFC 6749 §2.3.1: both parts are form-encoded before the Basic encoding.
    assert base64.b64decode(encoded).decode() == f"id%3Awith+space:{CLIENT_SECRET}"


def test_token_request_redirect_uri_from_authorize(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flow = start_flow(provider, redirect_uri="com.example.app:/oauth/callback")

    flow.callback(code="code-1")

    assert token_request_form(token_call.calls[0])["redirect_uri"] == "com.example.app:/oauth/callback"


def test_profile_request_uses_bearer_header(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    profile_call = add_profile_response(mock_http, provider)

    start_flow(provider).callback(code="code-1")

    request = profile_call.calls[0].request
    assert request.headers["Authorization"] == "Bearer tok_access_1"
    assert "tok_access_1" not in request.url
    assert request.headers["User-Agent"].startswith("allaccess-api/")


def test_profile_request_sends_provider_api_headers(start_flow, db, mock_http):
    provider = make_provider(api_headers={"Client-Id": "example-client-id"})
    add_token_response(mock_http, provider)
    profile_call = add_profile_response(mock_http, provider)

    start_flow(provider).callback(code="code-1")

    assert profile_call.calls[0].request.headers["Client-Id"] == "example-client-id"


def test_second_sign_in_finds_same_user(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    first = start_flow(provider).callback(code="code-1").json()

    second = start_flow(provider).callback(code="code-2").json()

    assert second["user"]["id"] == first["user"]["id"]
    assert second["account"]["id"] == first["account"]["id"]
    assert second["user_created"] is False
    assert second["account_created"] is False
    assert User.objects.count() == 1


def test_later_sign_in_keeps_nonempty_names(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 1, "given_name": "Ada", "family_name": "Lovelace"})
    start_flow(provider).callback(code="code-1")
    mock_http.replace(responses.GET, provider.profile_url, json={"id": 1, "given_name": "Augusta"})

    start_flow(provider).callback(code="code-2")

    user = User.objects.get()
    assert (user.first_name, user.last_name) == ("Augusta", "Lovelace")


def test_unverified_email_is_not_stored(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 1, "email": "who@example.org", "email_verified": False})

    body = start_flow(provider).callback(code="code-1").json()

    assert body["user"]["email"] == ""


def test_email_verified_as_string_is_stored(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 1, "email": "who@example.org", "email_verified": "true"})

    assert start_flow(provider).callback(code="code-1").json()["user"]["email"] == "who@example.org"


def test_trusted_provider_email_is_stored_without_flag(start_flow, db, mock_http):
    provider = make_provider(trust_email=True)
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 1, "email": "who@example.org"})

    assert start_flow(provider).callback(code="code-1").json()["user"]["email"] == "who@example.org"


def test_sign_in_never_links_by_email(start_flow, provider, mock_http):
    existing = User.objects.create_user("victim", email="octocat@example.org")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    body = start_flow(provider).callback(code="code-1").json()

    assert body["user_created"] is True
    assert body["user"]["id"] != existing.pk
    assert AccountAccess.objects.get().user_id != existing.pk


def test_new_usernames_are_unique(start_flow, provider, mock_http):
    User.objects.create_user("OctoCat")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    body = start_flow(provider).callback(code="code-1").json()

    assert body["user"]["username"] == "octocat2"


def test_username_falls_back_to_provider_and_identifier(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": "u 77"})

    body = start_flow(provider).callback(code="code-1").json()

    assert body["user"]["username"] == "example-u77"
    assert User.objects.get().has_usable_password() is False


def test_link_flow_attaches_identity_to_signed_in_user(api_client, start_flow, provider, mock_http):
    user = User.objects.create_user("linker")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user).access}")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flow = start_flow(provider)
    api_client.credentials()

    body = flow.callback(code="code-1").json()

    assert body["user"]["id"] == user.pk
    assert body["user_created"] is False
    assert body["account_created"] is True
    assert AccountAccess.objects.get().user == user


def test_link_of_other_users_identity_conflicts(api_client, start_flow, provider, mock_http):
    owner = User.objects.create_user("owner")
    AccountAccess.objects.create(provider=provider, identifier="583231", user=owner, access_token="old")
    linker = User.objects.create_user("linker")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(linker).access}")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 409, "account_in_use")
    account = AccountAccess.objects.get()
    assert account.user == owner
    assert account.access_token == "old"


def test_signup_closed_rejects_unknown_identity(start_flow, provider, mock_http, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "SIGNUP_OPEN": False}
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 403, "signup_closed")
    assert_nothing_stored()


def test_signup_closed_still_signs_in_known_identity(start_flow, provider, mock_http, settings):
    user = User.objects.create_user("known")
    AccountAccess.objects.create(provider=provider, identifier="583231", user=user)
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "SIGNUP_OPEN": False}
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.pk


def test_inactive_user_cannot_sign_in(start_flow, provider, mock_http):
    user = User.objects.create_user("sleeper", is_active=False)
    AccountAccess.objects.create(provider=provider, identifier="583231", user=user, access_token="old")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 403, "inactive_user")
    assert AccountAccess.objects.get().access_token == "old"


def test_new_sign_in_reactivates_account_status(start_flow, provider, mock_http):
    user = User.objects.create_user("known")
    AccountAccess.objects.create(provider=provider, identifier="583231", user=user,
                                 status=AccountStatus.REAUTHORIZATION_REQUIRED)
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    body = start_flow(provider).callback(code="code-1").json()

    assert body["account"]["status"] == "active"
    assert AccountAccess.objects.get().status == AccountStatus.ACTIVE


def test_reused_state_is_invalid(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    flow = start_flow(provider)
    assert flow.callback(code="code-1").status_code == 200

    response = flow.callback(code="code-1")

    assert_error(response, 400, "invalid_state")
    assert token_call.call_count == 1


def test_unknown_state_is_invalid(api_client, provider, mock_http):
    response = api_client.post(f"/api/v1/providers/{provider.name}/callback/",
                               {"state": "x" * 43, "code": "c", "code_verifier": "v" * 43}, format="json")

    assert_error(response, 400, "invalid_state")


def test_state_of_other_provider_invalid(start_flow, provider, db, mock_http):
    other = make_provider("other")
    flow = start_flow(provider)
    flow.provider = other

    response = flow.callback(code="code-1")

    assert_error(response, 400, "invalid_state")
    assert PendingAuthorization.objects.get().used_at is None


def test_expired_state_is_rejected(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    flow = start_flow(provider)
    PendingAuthorization.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = flow.callback(code="code-1")

    assert_error(response, 400, "state_expired")
    assert token_call.call_count == 0
    assert_nothing_stored()


def test_state_lifetime_is_configurable(start_flow, provider, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "STATE_LIFETIME": timedelta(minutes=2)}

    flow = start_flow(provider)

    pending = PendingAuthorization.objects.get()
    assert timedelta(seconds=110) < pending.expires_at - timezone.now() <= timedelta(minutes=2)
    assert flow.authorize_response["expires_at"].startswith(pending.expires_at.strftime("%Y-%m-%dT%H:%M"))


def test_wrong_code_verifier_is_binding_mismatch(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    flow = start_flow(provider)

    response = flow.callback(code="code-1", code_verifier="A" * 43)

    assert_error(response, 400, "binding_mismatch")
    assert token_call.call_count == 0
    assert_nothing_stored()


def test_missing_code_verifier_is_required_and_keeps_state(api_client, start_flow, provider, mock_http):
    flow = start_flow(provider)

    response = api_client.post(f"/api/v1/providers/{provider.name}/callback/",
                               {"state": flow.state, "code": "code-1"}, format="json")

    assert_error(response, 400, "required", type_="validation_error", attr="code_verifier")
    assert PendingAuthorization.objects.get().used_at is None


def test_malformed_code_verifier_is_invalid_and_keeps_state(start_flow, provider, mock_http):
    flow = start_flow(provider)

    response = flow.callback(code="code-1", code_verifier="short")

    assert_error(response, 400, "invalid", type_="validation_error", attr="code_verifier")
    assert PendingAuthorization.objects.get().used_at is None


def test_stored_challenge_checked_when_binding_off(start_flow, provider, settings):
    flow = start_flow(provider)
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "REQUIRE_CLIENT_BINDING": False}

    response = flow.client.post(f"/api/v1/providers/{provider.name}/callback/",
                                {"state": flow.state, "code": "code-1"}, format="json")

    assert_error(response, 400, "binding_mismatch")


def test_flow_without_binding_needs_no_verifier(api_client, provider, mock_http, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "REQUIRE_CLIENT_BINDING": False}
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)
    state = api_client.post(f"/api/v1/providers/{provider.name}/authorize/",
                            {"redirect_uri": REDIRECT_URI}, format="json").json()["state"]

    response = api_client.post(f"/api/v1/providers/{provider.name}/callback/",
                               {"state": state, "code": "code-1"}, format="json")

    assert response.status_code == 200


def test_denied_consent_is_access_denied_without_token_request(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    flow = start_flow(provider)

    response = flow.callback(error="access_denied", error_description="The user said no")

    assert_error(response, 400, "access_denied")
    assert token_call.call_count == 0
    assert PendingAuthorization.objects.get().used_at is not None
    assert_nothing_stored()


def test_other_provider_error_is_provider_error_with_description(start_flow, provider, mock_http):
    flow = start_flow(provider)

    response = flow.callback(error="temporarily_unavailable", error_description="Try again — später")

    assert_error(response, 400, "provider_error")
    detail = response.json()["errors"][0]["detail"]
    assert "temporarily_unavailable" in detail
    assert "später" in detail


def test_callback_needs_code_or_error(start_flow, provider):
    flow = start_flow(provider)

    response = flow.callback()

    assert_error(response, 400, "required", type_="validation_error", attr="code")
    assert PendingAuthorization.objects.get().used_at is None
