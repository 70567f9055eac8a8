"""The API proxy against a real OpenID Connect provider over HTTP.

The user signs in through django-oauth-toolkit (started on 127.0.0.1 by the
``oidc_server`` fixture), then calls the provider's protected resources through
the proxy: the userinfo endpoint and an echo resource that returns the request
it received. Token refresh and revocation run against the provider for real.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from allaccess_api.models import AccountAccess, AccountStatus
from tests.conftest import REDIRECT_URI, Flow, strip_detail
from tests.e2e.provider import new_session, sign_in_and_consent
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
User = get_user_model()
REQUEST_TIMEOUT_SECONDS = 10


@pytest.fixture
def demo(register_oidc_server, oidc_server):
    return register_oidc_server(revocation_url=oidc_server.revocation_url)


@pytest.fixture
def signed_in(oidc_server, demo):
    """An API client signed in through the provider, and the body of the callback response."""
    client = APIClient()
    flow = Flow(client, demo)
    redirect = sign_in_and_consent(oidc_server, flow.authorize_response["authorization_url"], REDIRECT_URI)
    body = flow.callback(code=redirect["code"]).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    return client, body


def proxy_url(body, path):
    return f"/api/v1/accounts/{body['account']['id']}/proxy/{path}"


def read_json(response):
    assert response.status_code == 200, b"".join(response.streaming_content)
    return json.loads(b"".join(response.streaming_content))


def test_userinfo_through_proxy(signed_in, oidc_server):
    client, body = signed_in

    userinfo = read_json(client.get(proxy_url(body, "o/userinfo/")))

    assert userinfo["sub"] == body["account"]["identifier"]
    assert userinfo["email"] == oidc_server.email


def test_echo_receives_token_body_and_query(signed_in, oidc_server):
    client, body = signed_in
    jwt = body["access"]

    response = client.post(
        proxy_url(body, "api/echo/items/1") + "?q=a%20b&page=2&page=3",
        data=b'{"name": "item"}',
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_COOKIE="sessionid=ours",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_FORWARDED_HOST="evil.test",
    )

    echo = read_json(response)
    headers = {name.lower(): value for name, value in echo["headers"].items()}
    account = AccountAccess.objects.get()
    assert echo["method"] == "POST"
    assert echo["path"] == "/api/echo/items/1"
    assert echo["query"] == {"q": ["a b"], "page": ["2", "3"]}
    assert echo["body"] == '{"name": "item"}'
    assert echo["user"] == oidc_server.username
    assert headers["authorization"] == f"Bearer {account.access_token}"
    assert headers["content-type"] == "application/json"
    assert headers["host"] == oidc_server.base_url.removeprefix("http://")
    assert "cookie" not in headers
    assert not [name for name in headers if name.startswith("x-forwarded")]
    assert jwt not in str(echo)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_echo_receives_method(signed_in, method):
    client, body = signed_in

    echo = read_json(getattr(client, method)(proxy_url(body, "api/echo/")))

    assert echo["method"] == method.upper()


def test_expired_token_is_refreshed_at_provider(signed_in):
    client, body = signed_in
    before = AccountAccess.objects.get()
    AccountAccess.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    echo = read_json(client.get(proxy_url(body, "api/echo/")))

    after = AccountAccess.objects.get()
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # the provider rotates refresh tokens
    assert after.expires_at > timezone.now()
    assert echo["headers"]["Authorization"] == f"Bearer {after.access_token}"


def test_rejected_token_is_refreshed_and_retried(signed_in):
    client, body = signed_in
    AccountAccess.objects.update(access_token="not-a-token-the-provider-issued")

    echo = read_json(client.get(proxy_url(body, "api/echo/")))

    after = AccountAccess.objects.get()
    assert after.access_token != "not-a-token-the-provider-issued"
    assert echo["headers"]["Authorization"] == f"Bearer {after.access_token}"


def test_rejected_refresh_requires_reauthorization(signed_in):
    client, body = signed_in
    AccountAccess.objects.update(access_token="unknown-access", refresh_token="unknown-refresh")

    response = client.get(proxy_url(body, "api/echo/"))

    assert response.status_code == 409
    assert strip_detail(response.json()) == {
        "type": "client_error", "errors": [{"code": "reauthorization_required", "attr": None}]}
    account = AccountAccess.objects.get()
    assert account.status == AccountStatus.REAUTHORIZATION_REQUIRED
    assert (account.access_token, account.refresh_token) == ("unknown-access", "unknown-refresh")


def test_sign_in_again_reactivates_account(signed_in, oidc_server, demo):
    client, body = signed_in
    AccountAccess.objects.update(status=AccountStatus.REAUTHORIZATION_REQUIRED)
    flow = Flow(APIClient(), demo)
    redirect = sign_in_and_consent(oidc_server, flow.authorize_response["authorization_url"], REDIRECT_URI)
    assert flow.callback(code=redirect["code"]).status_code == 200

    detail = client.get(f"/api/v1/accounts/{body['account']['id']}/").json()

    assert detail["status"] == "active"
    assert read_json(client.get(proxy_url(body, "api/echo/")))["method"] == "GET"


def test_unlink_revokes_token_at_provider(signed_in, oidc_server, demo):
    client, body = signed_in
    user = User.objects.get()
    user.set_password("correct horse battery staple")
    user.save()
    access_token = AccountAccess.objects.get().access_token

    assert client.delete(f"/api/v1/accounts/{body['account']['id']}/").status_code == 204

    with new_session() as session:
        check = session.get(f"{oidc_server.base_url}/api/echo/", headers={"Authorization": f"Bearer {access_token}"},
                            timeout=REQUEST_TIMEOUT_SECONDS)
    assert check.status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL")
def test_simultaneous_calls_refresh_once_at_provider(signed_in):
    """Ten calls with one expired token share one refresh: every call sends the same new access token."""
    client, body = signed_in
    before = AccountAccess.objects.get()
    AccountAccess.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    jwt = body["access"]

    def call(index):
        thread_client = APIClient()
        thread_client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt}")
        response = thread_client.get(proxy_url(body, "api/echo/"))
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, content

    results = run_at_once(10, call)

    assert [status for status, _ in results] == [200] * 10, results
    after = AccountAccess.objects.get()
    assert after.refresh_token != before.refresh_token
    assert after.status == AccountStatus.ACTIVE
    tokens_seen = {json.loads(content)["headers"]["Authorization"] for _, content in results}
    assert tokens_seen == {f"Bearer {after.access_token}"}
