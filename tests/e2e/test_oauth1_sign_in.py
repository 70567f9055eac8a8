"""Sign-in through the API against a real OAuth 1.0a provider over HTTP.

The provider is built on oauthlib's server endpoints (``demo.oauth1_provider``) and
runs in its own process on 127.0.0.1 with HMAC-SHA1 only. The product runs in the
test process and talks to it as it would talk to any provider. The user's browser is
a requests session that walks the provider's login and allow/deny pages.
"""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from allaccess_api.clients import get_client
from allaccess_api.models import AccountAccess, PendingAuthorization, Protocol, Provider
from tests.conftest import (
    APP_REDIRECT_URI,
    REDIRECT_URI,
    Flow,
    assert_error,
    assert_nothing_stored,
)
from tests.e2e.oauth1_provider import run_oauth1_provider, sign_in_and_authorize

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
User = get_user_model()


@pytest.fixture(scope="module")
def oauth1_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("oauth1-provider")
    with run_oauth1_provider(workdir, [REDIRECT_URI, APP_REDIRECT_URI]) as provider:
        yield provider


@pytest.fixture
def demo(oauth1_server, settings):
    """The running provider registered in the product, with loopback http allowed."""
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True}
    return Provider.objects.create(
        name="demo1",
        display_name="Demo OAuth 1.0a",
        protocol=Protocol.OAUTH1,
        request_token_url=oauth1_server.request_token_url,
        authorization_url=oauth1_server.authorization_url,
        access_token_url=oauth1_server.access_token_url,
        profile_url=oauth1_server.profile_url,
        api_base_url=oauth1_server.api_base_url,
        scope=[],
        client_id=oauth1_server.client_key,
        client_secret=oauth1_server.client_secret,
    )


def sign_in(oauth1_server, flow, redirect_uri=REDIRECT_URI, **choice):
    """Walk the provider's pages for ``flow`` and return the redirect's parameters."""
    return sign_in_and_authorize(oauth1_server, flow.authorize_response["authorization_url"], redirect_uri, **choice)


def callback_fields(redirect):
    return {"oauth_token": redirect["oauth_token"], "oauth_verifier": redirect["oauth_verifier"]}


def test_full_sign_in(oauth1_server, demo):
    client = APIClient()
    listing = client.get("/api/v1/providers/").json()
    assert listing == [{"name": "demo1", "display_name": "Demo OAuth 1.0a", "protocol": "oauth1", "scope": []}]

    flow = Flow(client, demo)
    assert flow.authorize_response["authorization_url"].startswith(f"{oauth1_server.authorization_url}?oauth_token=")
    redirect = sign_in(oauth1_server, flow)
    assert set(redirect) == {"state", "oauth_token", "oauth_verifier"}
    assert redirect["state"] == flow.state
    response = flow.callback(**callback_fields(redirect))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["user_created"], body["account_created"]) == (True, True)
    assert body["user"]["username"] == oauth1_server.username
    assert body["user"]["first_name"] == oauth1_server.first_name
    assert body["user"]["last_name"] == oauth1_server.last_name
    assert body["account"]["provider"] == "demo1"
    assert body["account"]["identifier"].isdigit()
    assert body["account"]["scope"] == []
    account = AccountAccess.objects.get()
    assert account.token_type == "OAuth1"
    assert account.access_token and account.token_secret

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.get("/api/v1/auth/me/").json()["id"] == body["user"]["id"]


def test_second_sign_in_finds_the_same_user(oauth1_server, demo):
    first_flow = Flow(APIClient(), demo)
    first = first_flow.callback(**callback_fields(sign_in(oauth1_server, first_flow))).json()
    second_flow = Flow(APIClient(), demo)

    second = second_flow.callback(**callback_fields(sign_in(oauth1_server, second_flow))).json()

    assert second["user"]["id"] == first["user"]["id"]
    assert second["account"]["id"] == first["account"]["id"]
    assert (second["user_created"], second["account_created"]) == (False, False)
    assert User.objects.count() == 1


def test_mobile_redirect_uri_with_custom_scheme(oauth1_server, demo):
    flow = Flow(APIClient(), demo, redirect_uri=APP_REDIRECT_URI)
    redirect = sign_in(oauth1_server, flow, APP_REDIRECT_URI)

    response = flow.callback(**callback_fields(redirect))

    assert redirect["state"] == flow.state
    assert response.status_code == 200, response.json()


def test_stored_token_signs_api_requests(oauth1_server, demo):
    flow = Flow(APIClient(), demo)
    assert flow.callback(**callback_fields(sign_in(oauth1_server, flow))).status_code == 200
    account = AccountAccess.objects.get()

    response = get_client(demo).request(
        "POST", f"{oauth1_server.api_base_url}echo/statuses?trim_user=1", account, data={"status": "hello world"}
    )

    assert response.status_code == 200, response.text
    echoed = response.json()
    assert (echoed["method"], echoed["path"]) == ("POST", "/1.1/echo/statuses")
    assert echoed["query"] == {"trim_user": ["1"]}
    assert echoed["body"] == "status=hello+world"
    assert echoed["headers"]["Authorization"].startswith("OAuth ")
    assert echoed["user"] == oauth1_server.username


def test_changed_client_secret_fails_authorize(oauth1_server, demo):
    demo.client_secret = "not-the-registered-secret"
    demo.save()

    response = APIClient().post(
        "/api/v1/providers/demo1/authorize/", {"redirect_uri": REDIRECT_URI, "code_challenge": "A" * 43},
        format="json",
    )

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert not PendingAuthorization.objects.exists()


def test_changed_client_secret_fails_exchange(oauth1_server, demo):
    flow = Flow(APIClient(), demo)
    redirect = sign_in(oauth1_server, flow)
    demo.client_secret = "not-the-registered-secret"
    demo.save()

    response = flow.callback(**callback_fields(redirect))

    assert_error(response, 400, "token_exchange_failed")
    assert_nothing_stored()


def test_reused_state_is_rejected(oauth1_server, demo):
    flow = Flow(APIClient(), demo)
    redirect = sign_in(oauth1_server, flow)
    assert flow.callback(**callback_fields(redirect)).status_code == 200

    response = flow.callback(**callback_fields(redirect))

    assert_error(response, 400, "invalid_state")
    assert AccountAccess.objects.count() == 1


def test_exchanged_request_token_is_refused_by_the_provider(oauth1_server, demo):
    """A request token and verifier replayed into another flow are refused, because the provider closed them."""
    used_flow = Flow(APIClient(), demo)
    used_redirect = sign_in(oauth1_server, used_flow)
    used_pending = PendingAuthorization.objects.get()
    assert used_flow.callback(**callback_fields(used_redirect)).status_code == 200
    AccountAccess.objects.all().delete()
    User.objects.all().delete()
    replay_flow = Flow(APIClient(), demo)
    PendingAuthorization.objects.exclude(pk=used_pending.pk).update(
        request_token=used_pending.request_token, request_token_secret=used_pending.request_token_secret
    )

    response = replay_flow.callback(**callback_fields(used_redirect))

    assert_error(response, 400, "token_exchange_failed")
    assert_nothing_stored()


def test_wrong_verifier_is_rejected_and_stores_nothing(oauth1_server, demo):
    flow = Flow(APIClient(), demo)
    redirect = sign_in(oauth1_server, flow)

    response = flow.callback(oauth_token=redirect["oauth_token"], oauth_verifier="W" * 30)

    assert_error(response, 400, "token_exchange_failed")
    assert "http_401" in response.json()["errors"][0]["detail"]
    assert_nothing_stored()


def test_denied_authorization_is_access_denied_and_stores_nothing(oauth1_server, demo):
    flow = Flow(APIClient(), demo)
    redirect = sign_in(oauth1_server, flow, allow=False)
    assert redirect["state"] == flow.state
    assert redirect["denied"] == PendingAuthorization.objects.get().request_token

    response = flow.callback(error="denied")

    assert_error(response, 400, "access_denied")
    assert_nothing_stored()
