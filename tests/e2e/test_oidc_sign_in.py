"""Sign-in through the API against a real OpenID Connect provider over HTTP.

The provider is django-oauth-toolkit in its own process on 127.0.0.1 (RS256 ID
tokens, PKCE required). The product runs in the test process and talks to it
exactly as it would talk to any provider. The user's browser is a requests
session that walks the provider's login and consent pages.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from allaccess_api.models import AccountAccess, PendingAuthorization
from tests.conftest import APP_REDIRECT_URI, REDIRECT_URI, Flow, assert_error, assert_nothing_stored, strip_detail
from tests.e2e.provider import sign_in_and_consent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
User = get_user_model()


@pytest.fixture
def demo(register_oidc_server, oidc_server):
    """The running provider registered in the product, with loopback http allowed."""
    return register_oidc_server(api_base_url=oidc_server.base_url + "/api/")


def sign_in(oidc_server, flow, redirect_uri=REDIRECT_URI, **consent):
    """Walk the provider's pages for ``flow`` and return the redirect's parameters."""
    return sign_in_and_consent(oidc_server, flow.authorize_response["authorization_url"], redirect_uri, **consent)




def test_full_sign_in_refresh_and_logout(oidc_server, demo):
    client = APIClient()
    listing = client.get("/api/v1/providers/").json()
    assert listing == [{"name": "demo", "display_name": "Demo", "protocol": "oidc",
                        "scope": ["openid", "profile", "email"], "client_id": oidc_server.client_id}]

    flow = Flow(client, demo)
    redirect = sign_in(oidc_server, flow)
    assert redirect["state"] == flow.state
    response = flow.callback(code=redirect["code"])

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["user_created"] is True
    assert body["user"]["username"] == oidc_server.username
    assert (body["user"]["first_name"], body["user"]["last_name"]) == (oidc_server.given_name, oidc_server.family_name)
    assert body["user"]["email"] == oidc_server.email
    assert body["account"]["provider"] == "demo"
    assert body["account"]["scope"] == ["openid", "profile", "email"]
    account = AccountAccess.objects.get()
    assert account.refresh_token
    assert account.expires_at > timezone.now()

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.get("/api/v1/auth/me/").json()["id"] == body["user"]["id"]
    client.credentials()

    refreshed = client.post("/api/v1/auth/refresh/", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200
    new_refresh = refreshed.json()["refresh"]
    assert client.post("/api/v1/auth/logout/", {"refresh": new_refresh}, format="json").status_code == 204
    after_logout = client.post("/api/v1/auth/refresh/", {"refresh": new_refresh}, format="json")
    assert after_logout.status_code == 401


def test_identifier_is_the_provider_sub(oidc_server, demo):
    flow = Flow(APIClient(), demo)
    body = flow.callback(code=sign_in(oidc_server, flow)["code"]).json()

    assert body["account"]["identifier"].isdigit()


def test_second_sign_in_finds_the_same_user(oidc_server, demo):
    first_flow = Flow(APIClient(), demo)
    first = first_flow.callback(code=sign_in(oidc_server, first_flow)["code"]).json()
    second_flow = Flow(APIClient(), demo)

    second = second_flow.callback(code=sign_in(oidc_server, second_flow)["code"]).json()

    assert second["user"]["id"] == first["user"]["id"]
    assert second["account"]["id"] == first["account"]["id"]
    assert (second["user_created"], second["account_created"]) == (False, False)
    assert User.objects.count() == 1


def test_mobile_redirect_uri_with_custom_scheme(oidc_server, demo):
    flow = Flow(APIClient(), demo, redirect_uri=APP_REDIRECT_URI)

    response = flow.callback(code=sign_in(oidc_server, flow, APP_REDIRECT_URI)["code"])

    assert response.status_code == 200, response.json()


def test_wrong_verifier_is_rejected_and_stores_nothing(oidc_server, demo):
    flow = Flow(APIClient(), demo)
    code = sign_in(oidc_server, flow)["code"]

    response = flow.callback(code=code, code_verifier="W" * 43)

    assert_error(response, 400, "binding_mismatch")
    assert_nothing_stored()


def test_reused_state_is_rejected(oidc_server, demo):
    flow = Flow(APIClient(), demo)
    code = sign_in(oidc_server, flow)["code"]
    assert flow.callback(code=code).status_code == 200

    response = flow.callback(code=code)

    assert_error(response, 400, "invalid_state")
    assert AccountAccess.objects.count() == 1


def test_expired_state_is_rejected_and_stores_nothing(oidc_server, demo):
    flow = Flow(APIClient(), demo)
    code = sign_in(oidc_server, flow)["code"]
    PendingAuthorization.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = flow.callback(code=code)

    assert_error(response, 400, "state_expired")
    assert_nothing_stored()


def test_unlisted_redirect_uri_is_rejected_before_the_provider(oidc_server, demo):
    response = APIClient().post(
        "/api/v1/providers/demo/authorize/",
        {"redirect_uri": "https://evil.example/callback", "code_challenge": "A" * 43},
        format="json",
    )

    assert response.status_code == 400
    assert strip_detail(response.json()) == {
        "type": "validation_error",
        "errors": [{"code": "redirect_uri_not_allowed", "attr": "redirect_uri"}],
    }
    assert not PendingAuthorization.objects.exists()


def test_denied_consent_is_access_denied_and_stores_nothing(oidc_server, demo):
    flow = Flow(APIClient(), demo)
    redirect = sign_in(oidc_server, flow, allow=False)
    assert redirect["error"] == "access_denied"

    response = flow.callback(error=redirect["error"], error_description=redirect.get("error_description", ""))

    assert_error(response, 400, "access_denied")
    assert_nothing_stored()


def test_stolen_code_rejected_by_provider(oidc_server, demo):
    """A stolen code is useless: a new flow cannot redeem it, because the provider checks our PKCE verifier."""
    victim_flow = Flow(APIClient(), demo)
    stolen_code = sign_in(oidc_server, victim_flow)["code"]
    attacker_flow = Flow(APIClient(), demo)

    response = attacker_flow.callback(code=stolen_code)

    assert_error(response, 400, "token_exchange_failed")
    assert "invalid_grant" in response.json()["errors"][0]["detail"]
    assert_nothing_stored()
