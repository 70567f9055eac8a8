"""Fixtures shared by the test suite: providers, API clients and a faked HTTP transport."""

import pytest
import responses
from django.core.cache import cache
from rest_framework.test import APIClient

from allaccess_api.models import Protocol, Provider
from allaccess_api.pkce import make_verifier, s256_challenge

REDIRECT_URI = "https://spa.example/callback"
APP_REDIRECT_URI = "com.example.app:/oauth/callback"
TEST_KEY = "hJYSyKVj0yGoRsUN2f0DfmkXDDrWAFO5NVqTxA9rmeI="
CLIENT_SECRET = "secret-client-value-1"


@pytest.fixture(autouse=True)
def api_settings(settings):
    """Known redirect URIs and encryption key; a clean throttle cache for each test."""
    settings.ALLACCESS_API = {
        "REDIRECT_URIS": [REDIRECT_URI, APP_REDIRECT_URI],
        "ENCRYPTION_KEYS": [TEST_KEY],
        "INSECURE_LOOPBACK": False,
    }
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def mock_http():
    """Fake HTTP at the transport; any request that was not registered fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_provider(name="example", protocol=Protocol.OAUTH2, **fields):
    values = {
        "display_name": "Example",
        "protocol": protocol,
        "authorization_url": f"https://{name}.test/oauth/authorize",
        "access_token_url": f"https://{name}.test/oauth/token",
        "profile_url": f"https://api.{name}.test/user",
        "api_base_url": f"https://api.{name}.test/",
        "scope": ["read:user", "user:email"],
        "client_id": f"{name}-client-id",
        "client_secret": CLIENT_SECRET,
    }
    values.update(fields)
    return Provider.objects.create(name=name, **values)


@pytest.fixture
def provider(db):
    return make_provider()


@pytest.fixture
def oidc_provider(db):
    return make_provider(
        "openid",
        protocol=Protocol.OIDC,
        profile_url="https://openid.test/userinfo",
        scope=["openid", "profile", "email"],
    )


class Flow:
    """One client-side flow: the verifier the client keeps and the state it was given."""

    def __init__(self, client, provider, *, redirect_uri=REDIRECT_URI, **extra):
        self.client = client
        self.provider = provider
        self.verifier = make_verifier()
        response = client.post(
            f"/api/v1/providers/{provider.name}/authorize/",
            {"redirect_uri": redirect_uri, "code_challenge": s256_challenge(self.verifier), **extra},
            format="json",
        )
        assert response.status_code == 201, response.json()
        self.authorize_response = response.json()
        self.state = self.authorize_response["state"]

    def callback(self, **data):
        body = {"state": self.state, "code_verifier": self.verifier, **data}
        return self.client.post(f"/api/v1/providers/{self.provider.name}/callback/", body, format="json")


@pytest.fixture
def start_flow(api_client):
    def start(provider, client=None, **extra):
        return Flow(client or api_client, provider, **extra)

    return start


def add_token_response(mock, provider, body=None, *, status=200, content_type="application/json", **kwargs):
    """Register the response of the provider's token endpoint."""
    if body is None:
        body = {"access_token": "tok_access_1", "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": "ref_1", "scope": "read:user user:email"}
    if isinstance(body, dict):
        return mock.add(responses.POST, provider.access_token_url, json=body, status=status, **kwargs)
    return mock.add(responses.POST, provider.access_token_url, body=body, status=status,
                    content_type=content_type, **kwargs)


def add_profile_response(mock, provider, body=None, *, status=200, content_type="application/json"):
    """Register the response of the provider's profile endpoint."""
    if body is None:
        body = {"id": 583231, "login": "octocat", "name": "Mona Lisa Octocat",
                "email": "octocat@example.org", "email_verified": True}
    if isinstance(body, (dict, list)):
        return mock.add(responses.GET, provider.profile_url, json=body, status=status)
    return mock.add(responses.GET, provider.profile_url, body=body, status=status, content_type=content_type)


def error_envelope(code, *, type_="client_error", attr=None):
    """The parts of an error body a test compares (the detail text is checked separately)."""
    return {"type": type_, "errors": [{"code": code, "attr": attr}]}


def assert_error(response, status, code, type_="client_error", attr=None):
    """Check an error response's status and whole envelope, apart from the detail text."""
    assert response.status_code == status, response.json()
    assert strip_detail(response.json()) == {"type": type_, "errors": [{"code": code, "attr": attr}]}


def assert_nothing_stored():
    """Check that no linked account and no user exist."""
    from django.contrib.auth import get_user_model

    from allaccess_api.models import AccountAccess

    assert not AccountAccess.objects.exists()
    assert not get_user_model().objects.exists()


def strip_detail(body):
    """Drop the human-readable detail from an error body so its shape can be compared whole."""
    return {
        "type": body["type"],
        "errors": [{"code": error["code"], "attr": error["attr"]} for error in body["errors"]],
    }
