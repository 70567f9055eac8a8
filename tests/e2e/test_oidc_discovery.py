"""A provider configured by OpenID Connect discovery, signed in with a validated ID token.

The provider is django-oauth-toolkit in its own process on 127.0.0.1: it publishes
a discovery document and a JWKS, signs RS256 ID tokens with the nonce we send, and
adds the RFC 9207 ``iss`` parameter to its redirects.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from allaccess_api.models import AccountAccess, Protocol, Provider, TokenAuthMethod
from tests.conftest import REDIRECT_URI, Flow, strip_detail
from tests.e2e.provider import sign_in_and_consent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
User = get_user_model()


@pytest.fixture
def discovered(oidc_server, settings):
    """The running provider, configured only from its issuer URL and client credentials."""
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True}
    call_command("providers", "set", "demo", "--issuer", oidc_server.issuer,
                 "--client-id", oidc_server.client_id, "--client-secret", oidc_server.client_secret,
                 "--token-auth-method", "client_secret_basic", stdout=io.StringIO())
    return Provider.objects.get(name="demo")


def redirect_of(oidc_server, flow):
    return sign_in_and_consent(oidc_server, flow.authorize_response["authorization_url"], REDIRECT_URI)


def test_discovery_fills_provider(oidc_server, discovered):
    assert discovered.protocol == Protocol.OIDC
    assert discovered.issuer == oidc_server.issuer
    assert discovered.authorization_url == oidc_server.authorization_url
    assert discovered.access_token_url == oidc_server.token_url
    assert discovered.profile_url == oidc_server.userinfo_url
    assert discovered.jwks_uri == oidc_server.jwks_url
    assert discovered.id_token_algorithms == ["RS256"]
    assert discovered.token_auth_method == TokenAuthMethod.CLIENT_SECRET_BASIC
    assert discovered.scope == ["openid", "profile", "email"]
    assert discovered.is_enabled


def test_sign_in_with_validated_id_token_and_iss(oidc_server, discovered):
    flow = Flow(APIClient(), discovered)
    redirect = redirect_of(oidc_server, flow)
    assert redirect["iss"] == oidc_server.issuer

    response = flow.callback(code=redirect["code"], iss=redirect["iss"])

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["user"]["username"] == oidc_server.username
    assert body["user"]["email"] == oidc_server.email
    assert body["account"]["identifier"].isdigit()


def test_forged_iss_in_callback_rejected(oidc_server, discovered):
    flow = Flow(APIClient(), discovered)
    redirect = redirect_of(oidc_server, flow)

    response = flow.callback(code=redirect["code"], iss="http://127.0.0.1:1/o")

    assert response.status_code == 400, response.json()
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "issuer_mismatch", "attr": None}]}
    assert not AccountAccess.objects.exists()
    assert not User.objects.exists()


def test_id_token_of_other_issuer_rejected(oidc_server, discovered):
    # The stored issuer no longer equals the iss the provider signs into its ID tokens.
    flow = Flow(APIClient(), discovered)
    redirect = redirect_of(oidc_server, flow)
    Provider.objects.filter(pk=discovered.pk).update(issuer=oidc_server.issuer + "/")

    response = flow.callback(code=redirect["code"])

    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["code"] == "invalid_id_token"
    assert response.json()["errors"][0]["detail"].endswith("Failed check: iss.")
