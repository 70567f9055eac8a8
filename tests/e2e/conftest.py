"""One OpenID Connect provider process for the whole end-to-end session, and its registration in the product."""

import pytest

from allaccess_api.models import Protocol, Provider, TokenAuthMethod
from tests.conftest import APP_REDIRECT_URI, REDIRECT_URI
from tests.e2e.provider import run_oidc_provider

# Redirect URIs registered at the provider: the product's (tests.conftest) and the harness tests' own.
HARNESS_SPA_REDIRECT_URI = "http://localhost:5173/auth/callback"
HARNESS_MOBILE_REDIRECT_URI = "com.example.app:/oauth2redirect"


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("oidc-provider")
    redirect_uris = [REDIRECT_URI, APP_REDIRECT_URI, HARNESS_SPA_REDIRECT_URI, HARNESS_MOBILE_REDIRECT_URI]
    with run_oidc_provider(workdir, redirect_uris) as provider:
        yield provider


@pytest.fixture
def register_oidc_server(oidc_server, settings):
    """Allow loopback http and return a function that registers ``oidc_server`` as the provider "demo".

    The function takes the ``Provider`` fields that differ from the defaults here, such as
    ``api_base_url`` (the server's root by default) or ``revocation_url`` (none by default).
    """
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True}

    def register(**fields) -> Provider:
        return Provider.objects.create(
            **{
                "name": "demo",
                "display_name": "Demo",
                "protocol": Protocol.OIDC,
                "authorization_url": oidc_server.authorization_url,
                "access_token_url": oidc_server.token_url,
                "profile_url": oidc_server.userinfo_url,
                "api_base_url": oidc_server.base_url + "/",
                "scope": ["openid", "profile", "email"],
                "client_id": oidc_server.client_id,
                "client_secret": oidc_server.client_secret,
                "token_auth_method": TokenAuthMethod.CLIENT_SECRET_BASIC,
                **fields,
            }
        )

    return register
