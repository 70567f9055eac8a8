"""Secrets stay out of logs and API responses, on success and on failure."""

import logging

import pytest
import responses

from allaccess_api.clients import ProviderToken
from allaccess_api.models import PendingAuthorization
from tests.conftest import CLIENT_SECRET, add_profile_response, add_token_response

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "tok-access-6f1c2d"
REFRESH_TOKEN = "tok-refresh-93ab7e"
ID_TOKEN = "eyJ.id-token-55aa.sig"
CODE = "code-7d2e9f0a"


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def secrets_of(flow):
    pending = PendingAuthorization.objects.get()
    return [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, CODE, CLIENT_SECRET, flow.verifier, pending.pkce_verifier]


def assert_no_secret(text, secrets):
    for secret in secrets:
        assert secret not in text, f"a secret leaked: {secret[:6]}..."


def test_successful_sign_in_logs_and_returns_no_secret(start_flow, provider, mock_http, all_logs):
    add_token_response(mock_http, provider, {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN,
                                             "id_token": ID_TOKEN, "token_type": "Bearer"})
    add_profile_response(mock_http, provider)
    flow = start_flow(provider)

    response = flow.callback(code=CODE)

    assert response.status_code == 200
    secrets = secrets_of(flow)
    assert_no_secret(response.content.decode(), secrets)
    assert all_logs.records, "the flow should log its outbound calls"
    assert_no_secret(all_logs.text, secrets)
    assert any("status=200" in record.getMessage() for record in all_logs.records)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"error": "invalid_grant", "error_description": "bad code"}),
        (400, {"error": "invalid_grant"}),
        (503, {"message": "down"}),
        (200, {"token_type": "Bearer"}),
    ],
)
def test_failed_exchange_logs_no_secret(start_flow, provider, mock_http, all_logs, status, body):
    add_token_response(mock_http, provider, body, status=status)
    flow = start_flow(provider)

    response = flow.callback(code=CODE)

    assert response.status_code in (400, 502)
    secrets = secrets_of(flow)
    assert_no_secret(response.content.decode(), secrets)
    assert_no_secret(all_logs.text, secrets)


def test_failed_profile_logs_no_secret(start_flow, provider, mock_http, all_logs):
    add_token_response(mock_http, provider, {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN})
    mock_http.add(responses.GET, provider.profile_url, status=401,
                  json={"error": "invalid_token", "echo": ACCESS_TOKEN})
    flow = start_flow(provider)

    response = flow.callback(code=CODE)

    assert response.status_code == 502
    secrets = secrets_of(flow)
    assert_no_secret(response.content.decode(), secrets)
    assert_no_secret(all_logs.text, secrets)


def test_provider_token_repr_hides_tokens():
    token = ProviderToken(access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, id_token=ID_TOKEN)

    assert_no_secret(repr(token), [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN])


def test_provider_responses_contain_no_secret(api_client, provider):
    listing = api_client.get("/api/v1/providers/")
    detail = api_client.get(f"/api/v1/providers/{provider.name}/")

    assert CLIENT_SECRET not in listing.content.decode()
    assert CLIENT_SECRET not in detail.content.decode()
    assert detail.json() == {"name": "example", "display_name": "Example", "protocol": "oauth2",
                             "scope": ["read:user", "user:email"], "client_id": "example-client-id"}
