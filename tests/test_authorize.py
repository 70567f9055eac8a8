"""POST providers/{name}/authorize/: starting sign-in and link flows."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from allaccess_api.flows import hash_state
from allaccess_api.models import PendingAuthorization
from allaccess_api.pkce import make_verifier, s256_challenge
from allaccess_api.tokens import issue_tokens
from tests.conftest import REDIRECT_URI, make_provider, strip_detail

pytestmark = pytest.mark.django_db

CHALLENGE = s256_challenge(make_verifier())


def authorize(client, provider, **data):
    body = {"redirect_uri": REDIRECT_URI, "code_challenge": CHALLENGE, **data}
    return client.post(f"/api/v1/providers/{provider.name}/authorize/", body, format="json")


def query_of(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_authorize_returns_url_state_and_expiry(api_client, provider):
    response = authorize(api_client, provider)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"authorization_url", "state", "expires_at"}
    assert body["authorization_url"].startswith("https://example.test/oauth/authorize?")
    assert len(body["state"]) >= 43  # 256 random bits, base64url


def test_authorization_url_carries_oauth2_parameters(api_client, provider):
    body = authorize(api_client, provider).json()
    query = query_of(body["authorization_url"])

    assert query["response_type"] == "code"
    assert query["client_id"] == "example-client-id"
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["scope"] == "read:user user:email"
    assert query["state"] == body["state"]
    assert query["code_challenge_method"] == "S256"
    assert "nonce" not in query


def test_provider_pkce_challenge_is_ours_not_the_clients(api_client, provider):
    body = authorize(api_client, provider).json()
    query = query_of(body["authorization_url"])

    pending = PendingAuthorization.objects.get()
    assert query["code_challenge"] == s256_challenge(pending.pkce_verifier)
    assert query["code_challenge"] != CHALLENGE
    assert pending.code_challenge == CHALLENGE


def test_provider_without_pkce_gets_no_challenge(api_client, db):
    provider = make_provider(pkce=False)

    query = query_of(authorize(api_client, provider).json()["authorization_url"])

    assert "code_challenge" not in query
    assert PendingAuthorization.objects.get().pkce_verifier == ""


def test_oidc_authorization_url_carries_nonce(api_client, oidc_provider):
    query = query_of(authorize(api_client, oidc_provider).json()["authorization_url"])

    assert query["nonce"] == PendingAuthorization.objects.get().nonce
    assert len(query["nonce"]) >= 43


def test_existing_query_of_authorization_url_is_kept(api_client, db):
    provider = make_provider(authorization_url="https://example.test/authorize?prompt=consent")

    query = query_of(authorize(api_client, provider).json()["authorization_url"])

    assert query["prompt"] == "consent"
    assert query["response_type"] == "code"


def test_requested_scope_replaces_default(api_client, provider):
    response = authorize(api_client, provider, scope=["repo", "read:org", "repo"])

    assert query_of(response.json()["authorization_url"])["scope"] == "repo read:org"
    assert PendingAuthorization.objects.get().scope == ["repo", "read:org"]


def test_pending_authorization_is_keyed_by_state_hash(api_client, provider):
    state = authorize(api_client, provider).json()["state"]

    pending = PendingAuthorization.objects.get()
    assert pending.state_hash == hash_state(state)
    assert state not in pending.state_hash
    assert pending.redirect_uri == REDIRECT_URI
    assert pending.used_at is None
    assert pending.user is None


def test_each_authorize_gets_a_new_state(api_client, provider):
    states = {authorize(api_client, provider).json()["state"] for _ in range(5)}

    assert len(states) == 5


def test_unlisted_redirect_uri_is_rejected(api_client, provider):
    response = authorize(api_client, provider, redirect_uri="https://spa.example/callback/")

    assert response.status_code == 400
    assert strip_detail(response.json()) == {
        "type": "validation_error",
        "errors": [{"code": "redirect_uri_not_allowed", "attr": "redirect_uri"}],
    }
    assert not PendingAuthorization.objects.exists()


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://SPA.example/callback", "https://spa.example/callback?x=1", " https://spa.example/callback",
     "https://spa.example/callback#", "https://spa.example:443/callback"],
)
def test_redirect_uri_must_match_character_for_character(api_client, provider, redirect_uri):
    response = authorize(api_client, provider, redirect_uri=redirect_uri)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "redirect_uri_not_allowed"


@pytest.mark.parametrize(
    "data",
    [
        {"code_challenge": None},
        {"code_challenge": "short"},
        {"code_challenge": CHALLENGE + "A"},
        {"code_challenge": CHALLENGE[:-1] + "="},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": "s256"},
    ],
)
def test_bad_code_challenge_is_rejected(api_client, provider, data):
    body = {"redirect_uri": REDIRECT_URI, "code_challenge": CHALLENGE, **data}
    body = {key: value for key, value in body.items() if value is not None}

    response = api_client.post(f"/api/v1/providers/{provider.name}/authorize/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_code_challenge"
    assert not PendingAuthorization.objects.exists()


def test_code_challenge_is_optional_when_binding_is_off(api_client, provider, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "REQUIRE_CLIENT_BINDING": False}

    response = api_client.post(
        f"/api/v1/providers/{provider.name}/authorize/", {"redirect_uri": REDIRECT_URI}, format="json"
    )

    assert response.status_code == 201
    assert PendingAuthorization.objects.get().code_challenge == ""


@pytest.mark.parametrize("scope", [["has space"], ['quote"'], ["back\\slash"], [""]])
def test_malformed_scope_is_rejected(api_client, provider, scope):
    response = authorize(api_client, provider, scope=scope)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"].startswith("scope")


def test_unknown_provider_is_not_found(api_client, db):
    response = api_client.post("/api/v1/providers/nope/authorize/", {}, format="json")

    assert response.status_code == 404
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "provider_not_found", "attr": None}]}


def test_disabled_provider_is_not_found(api_client, db):
    provider = make_provider(enabled=False)

    response = authorize(api_client, provider)

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "provider_not_found"


def test_jwt_on_authorize_records_link_user(api_client, provider):
    user = get_user_model().objects.create_user("linker")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user).access}")

    response = authorize(api_client, provider)

    assert response.status_code == 201
    assert PendingAuthorization.objects.get().user == user


def test_invalid_jwt_on_authorize_is_unauthenticated(api_client, provider):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = authorize(api_client, provider)

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "token_not_valid"
    assert not PendingAuthorization.objects.exists()


def test_jwt_of_inactive_user_is_forbidden(api_client, provider):
    user = get_user_model().objects.create_user("sleeper", is_active=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user).access}")

    response = authorize(api_client, provider)

    assert response.status_code == 403
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "inactive_user", "attr": None}]}


def test_authorize_purges_expired_pending_authorizations(api_client, provider):
    authorize(api_client, provider)
    PendingAuthorization.objects.update(expires_at=timezone.now() - timezone.timedelta(seconds=1))

    authorize(api_client, provider)

    assert PendingAuthorization.objects.count() == 1
    assert PendingAuthorization.objects.get().expires_at > timezone.now()


def test_authorize_is_throttled(api_client, provider, monkeypatch):
    # DRF reads the rates into a class attribute at import, so its own tests patch it the same way.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"allaccess_authorize": "2/min"})

    statuses = [authorize(api_client, provider).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]


def test_link_needs_recent_sign_in(api_client, provider):
    user = get_user_model().objects.create_user("linker")
    token = AccessToken(issue_tokens(user).access)
    token["auth_time"] = int(time.time()) - 16 * 60
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = authorize(api_client, provider)

    assert response.status_code == 403
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "reauthentication_required", "attr": None}]}
    assert not PendingAuthorization.objects.exists()


def test_link_without_sign_in_time_rejected(api_client, provider):
    user = get_user_model().objects.create_user("linker")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    response = authorize(api_client, provider)

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "reauthentication_required"


def test_refreshed_tokens_keep_sign_in_time(api_client, provider):
    user = get_user_model().objects.create_user("linker")
    pair = issue_tokens(user)
    signed_in_at = AccessToken(pair.access)["auth_time"]

    refreshed = api_client.post("/api/v1/auth/refresh/", {"refresh": pair.refresh}, format="json").json()

    assert AccessToken(refreshed["access"])["auth_time"] == signed_in_at
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
    assert authorize(api_client, provider).status_code == 201
