"""One OpenID Connect provider process for the whole end-to-end session."""

import pytest

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
