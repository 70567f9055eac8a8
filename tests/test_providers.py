"""GET providers/ and providers/{name}/."""

import pytest

from allaccess_api.models import Protocol
from tests.conftest import make_provider, strip_detail

pytestmark = pytest.mark.django_db


def test_list_shows_enabled_providers_by_name(api_client):
    make_provider("zeta", display_name="Zeta")
    make_provider("alpha", display_name="")
    make_provider("off", enabled=False)
    make_provider("nosecret", client_secret="")
    make_provider("noid", client_id="")

    response = api_client.get("/api/v1/providers/")

    assert response.status_code == 200
    assert [item["name"] for item in response.json()] == ["alpha", "zeta"]
    assert response.json()[0]["display_name"] == "alpha"


def test_oauth1_provider_has_no_client_id(api_client):
    make_provider("twitter", protocol=Protocol.OAUTH1, request_token_url="https://twitter.test/request_token")

    response = api_client.get("/api/v1/providers/twitter/")

    assert response.json() == {"name": "twitter", "display_name": "Example", "protocol": "oauth1",
                               "scope": ["read:user", "user:email"]}


def test_oidc_provider_shows_protocol_and_scope(api_client, oidc_provider):
    body = api_client.get("/api/v1/providers/openid/").json()

    assert body["protocol"] == "oidc"
    assert body["scope"] == ["openid", "profile", "email"]


@pytest.mark.parametrize("name", ["missing", "off"])
def test_unknown_or_disabled_provider_is_not_found(api_client, name):
    make_provider("off", enabled=False)

    response = api_client.get(f"/api/v1/providers/{name}/")

    assert response.status_code == 404
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "provider_not_found", "attr": None}]}


def test_provider_list_ignores_invalid_jwt(api_client, provider):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer junk")

    assert api_client.get("/api/v1/providers/").status_code == 200
