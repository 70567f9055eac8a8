"""OAuth 1.0a sign-in through authorize and callback, with the provider faked by ``responses``."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.db import connection
from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header, unescape

from allaccess_api.clients import OAuth1Client, ProviderToken, get_client
from allaccess_api.models import AccountAccess, PendingAuthorization, Protocol
from tests.conftest import (
    CLIENT_SECRET,
    REDIRECT_URI,
    add_profile_response,
    assert_error,
    assert_nothing_stored,
    make_provider,
)

pytestmark = pytest.mark.django_db

REQUEST_TOKEN = "req-tok-8c41d2"
REQUEST_TOKEN_SECRET = "req-sec-51be07"
VERIFIER = "verifier-2f6a90"
ACCESS_TOKEN = "acc-tok-7d13e5"
TOKEN_SECRET = "acc-sec-c09b44"
REQUEST_TOKEN_BODY = (
    f"oauth_token={REQUEST_TOKEN}&oauth_token_secret={REQUEST_TOKEN_SECRET}&oauth_callback_confirmed=true"
)
ACCESS_TOKEN_BODY = f"oauth_token={ACCESS_TOKEN}&oauth_token_secret={TOKEN_SECRET}&user_id=583231"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def twitter(db):
    return make_provider(
        "twitter",
        protocol=Protocol.OAUTH1,
        request_token_url="https://twitter.test/oauth/request_token",
        authorization_url="https://twitter.test/oauth/authorize",
        access_token_url="https://twitter.test/oauth/access_token",
        profile_url="https://api.twitter.test/1.1/account/verify_credentials.json",
        api_base_url="https://api.twitter.test/1.1/",
        scope=[],
    )


def add_request_token_response(mock, provider, body=REQUEST_TOKEN_BODY, *, status=200, content_type=FORM):
    return mock.add(responses.POST, provider.request_token_url, body=body, status=status, content_type=content_type)


def add_access_token_response(mock, provider, body=ACCESS_TOKEN_BODY, *, status=200, content_type=FORM):
    return mock.add(responses.POST, provider.access_token_url, body=body, status=status, content_type=content_type)


def authorization_header(call):
    # requests-oauthlib sets the header as UTF-8 bytes.
    header = call.request.headers["Authorization"]
    return header.decode() if isinstance(header, bytes) else header


def oauth_parameters(call):
    """Return the OAuth parameters of a recorded request's Authorization header."""
    header = authorization_header(call)
    assert header.startswith("OAuth ")
    return {name: unescape(value) for name, value in parse_authorization_header(header)}


def signature_is_valid(call, client_secret, token_secret=None):
    """Verify the HMAC-SHA1 signature of a recorded request with the given secrets (RFC 5849 §3.4.2)."""
    body = call.request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    headers = {**call.request.headers, "Authorization": authorization_header(call)}
    request = Request(call.request.url, call.request.method, body, headers)
    request.params = signature.collect_parameters(
        uri_query=request.uri_query, body=body if FORM in request.headers.get("Content-Type", "") else [],
        headers=request.headers, exclude_oauth_signature=True,
    )
    request.signature = oauth_parameters(call)["oauth_signature"]
    return signature.verify_hmac_sha1(request, client_secret, token_secret)


def callback_data(**overrides):
    return {"oauth_token": REQUEST_TOKEN, "oauth_verifier": VERIFIER, **overrides}


def test_get_client_returns_oauth1_client(twitter):
    assert isinstance(get_client(twitter), OAuth1Client)


def test_request_token_request_is_signed_hmac_sha1(start_flow, twitter, mock_http):
    call = add_request_token_response(mock_http, twitter)

    start_flow(twitter)

    assert call.call_count == 1
    recorded = mock_http.calls[0]
    parameters = oauth_parameters(recorded)
    assert recorded.request.method == "POST"
    assert parameters["oauth_signature_method"] == "HMAC-SHA1"
    assert parameters["oauth_consumer_key"] == twitter.client_id
    assert "oauth_token" not in parameters
    assert signature_is_valid(recorded, CLIENT_SECRET)
    assert not signature_is_valid(recorded, "another-client-secret")


def test_request_token_request_carries_callback_with_state(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)

    flow = start_flow(twitter)

    callback = oauth_parameters(mock_http.calls[0])["oauth_callback"]
    assert callback == f"{REDIRECT_URI}?state={flow.state}"


def test_callback_keeps_redirect_uri_query(start_flow, twitter, mock_http, settings):
    redirect_uri = "https://spa.example/callback?app=web"
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "REDIRECT_URIS": [redirect_uri]}
    add_request_token_response(mock_http, twitter)

    flow = start_flow(twitter, redirect_uri=redirect_uri)

    callback = urlsplit(oauth_parameters(mock_http.calls[0])["oauth_callback"])
    assert callback._replace(query="").geturl() == "https://spa.example/callback"
    assert parse_qs(callback.query) == {"app": ["web"], "state": [flow.state]}


def test_authorization_url_carries_request_token(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)

    flow = start_flow(twitter)

    expected_url = f"https://twitter.test/oauth/authorize?oauth_token={REQUEST_TOKEN}"
    assert flow.authorize_response["authorization_url"] == expected_url


def test_request_token_stored_encrypted(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)

    start_flow(twitter)

    pending = PendingAuthorization.objects.get()
    assert (pending.request_token, pending.request_token_secret) == (REQUEST_TOKEN, REQUEST_TOKEN_SECRET)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT request_token, request_token_secret FROM {PendingAuthorization._meta.db_table}")
        stored_token, stored_secret = cursor.fetchone()
    assert REQUEST_TOKEN not in stored_token
    assert REQUEST_TOKEN_SECRET not in stored_secret


@pytest.mark.parametrize(
    "body",
    [
        f"oauth_token={REQUEST_TOKEN}&oauth_token_secret={REQUEST_TOKEN_SECRET}",
        f"oauth_token={REQUEST_TOKEN}&oauth_token_secret={REQUEST_TOKEN_SECRET}&oauth_callback_confirmed=false",
    ],
    ids=["missing", "false"],
)
def test_unconfirmed_callback_is_provider_unavailable(api_client, twitter, mock_http, body):
    """A request token response without oauth_callback_confirmed=true ends authorize (OAuth 1.0 behaviour)."""
    add_request_token_response(mock_http, twitter, body)

    response = api_client.post(
        "/api/v1/providers/twitter/authorize/", {"redirect_uri": REDIRECT_URI, "code_challenge": "A" * 43},
        format="json",
    )

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert not PendingAuthorization.objects.exists()


def test_legacy_provider_accepts_unconfirmed_callback(start_flow, twitter, mock_http):
    twitter.legacy_oauth1 = True
    twitter.save()
    unconfirmed_body = f"oauth_token={REQUEST_TOKEN}&oauth_token_secret={REQUEST_TOKEN_SECRET}"
    add_request_token_response(mock_http, twitter, unconfirmed_body)

    flow = start_flow(twitter)

    query = parse_qs(urlsplit(flow.authorize_response["authorization_url"]).query)
    assert query == {"oauth_token": [REQUEST_TOKEN], "oauth_callback": [f"{REDIRECT_URI}?state={flow.state}"]}


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (401, "oauth_problem=signature_invalid", FORM),
        (503, "<html>Service Unavailable</html>", "text/html"),
        (200, "<html>Welcome</html>", "text/html"),
        (200, "oauth_callback_confirmed=true", FORM),
        (302, "", "text/html"),
    ],
    ids=["rejected", "5xx", "html", "no-token", "redirect"],
)
def test_request_token_failure_is_provider_unavailable(api_client, twitter, mock_http, status, body, content_type):
    add_request_token_response(mock_http, twitter, body, status=status, content_type=content_type)

    response = api_client.post(
        "/api/v1/providers/twitter/authorize/", {"redirect_uri": REDIRECT_URI, "code_challenge": "A" * 43},
        format="json",
    )

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert not PendingAuthorization.objects.exists()


def test_request_token_timeout_is_provider_timeout(api_client, twitter, mock_http):
    mock_http.add(responses.POST, twitter.request_token_url, body=requests.exceptions.ReadTimeout())

    response = api_client.post(
        "/api/v1/providers/twitter/authorize/", {"redirect_uri": REDIRECT_URI, "code_challenge": "A" * 43},
        format="json",
    )

    assert_error(response, 504, "provider_timeout", type_="server_error")
    assert not PendingAuthorization.objects.exists()


def test_sign_in_stores_token_and_secret(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    add_profile_response(mock_http, twitter, {"id": 583231, "screen_name": "octocat", "name": "Mona Octocat"})
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["account"]["identifier"] == "583231"
    assert body["account"]["scope"] == []
    assert body["user"]["username"] == "octocat"
    account = AccountAccess.objects.get()
    assert (account.access_token, account.token_secret) == (ACCESS_TOKEN, TOKEN_SECRET)
    assert account.token_type == "OAuth1"
    assert account.refresh_token == ""
    assert account.expires_at is None


def test_access_token_request_carries_verifier(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    add_profile_response(mock_http, twitter)
    flow = start_flow(twitter)

    flow.callback(**callback_data())

    recorded = mock_http.calls[1]
    parameters = oauth_parameters(recorded)
    assert recorded.request.url == twitter.access_token_url
    assert parameters["oauth_verifier"] == VERIFIER
    assert parameters["oauth_token"] == REQUEST_TOKEN
    assert parameters["oauth_signature_method"] == "HMAC-SHA1"
    assert "oauth_callback" not in parameters


def test_access_token_request_signed_with_request_token(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    add_profile_response(mock_http, twitter)
    flow = start_flow(twitter)

    flow.callback(**callback_data())

    recorded = mock_http.calls[1]
    assert signature_is_valid(recorded, CLIENT_SECRET, REQUEST_TOKEN_SECRET)
    assert not signature_is_valid(recorded, CLIENT_SECRET, "another-token-secret")


def test_profile_request_signed_with_access_token(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    add_profile_response(mock_http, twitter)
    flow = start_flow(twitter)

    flow.callback(**callback_data())

    recorded = mock_http.calls[2]
    header = authorization_header(recorded)
    assert recorded.request.url == twitter.profile_url
    assert header.startswith("OAuth ")
    assert 'oauth_signature_method="HMAC-SHA1"' in header
    assert oauth_parameters(recorded)["oauth_token"] == ACCESS_TOKEN
    assert signature_is_valid(recorded, CLIENT_SECRET, TOKEN_SECRET)
    assert ACCESS_TOKEN not in recorded.request.url


def test_signed_api_request_includes_form_body(twitter, mock_http):
    mock_http.add(responses.POST, "https://api.twitter.test/1.1/statuses/update.json", json={"id": 1})
    token = ProviderToken(access_token=ACCESS_TOKEN, token_type="OAuth1", token_secret=TOKEN_SECRET)

    get_client(twitter).request(
        "POST", "https://api.twitter.test/1.1/statuses/update.json?trim_user=1", token,
        data={"status": "hello world"},
    )

    recorded = mock_http.calls[0]
    assert signature_is_valid(recorded, CLIENT_SECRET, TOKEN_SECRET)
    assert recorded.request.body == b"status=hello+world"


@pytest.mark.parametrize(
    ("body", "content_type", "expected_secret"),
    [
        (f"oauth_token={ACCESS_TOKEN}&oauth_token_secret=a+b/c==", "text/html", "a+b/c=="),
        (f"oauth_token={ACCESS_TOKEN}&oauth_token_secret=a%2Bb%2Fc%3D%3D", FORM, "a+b/c=="),
        (f'{{"oauth_token": "{ACCESS_TOKEN}", "oauth_token_secret": "{TOKEN_SECRET}"}}', "application/json",
         TOKEN_SECRET),
        (f'{{"oauth_token": "{ACCESS_TOKEN}", "oauth_token_secret": "{TOKEN_SECRET}"}}', FORM, TOKEN_SECRET),
        (f"oauth_token={ACCESS_TOKEN}&oauth_token_secret={TOKEN_SECRET}\n", "text/plain", TOKEN_SECRET),
    ],
    ids=["unencoded-form", "encoded-form", "json", "json-labelled-form", "text-plain"],
)
def test_access_token_response_parsed_leniently(start_flow, twitter, mock_http, body, content_type, expected_secret):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter, body, content_type=content_type)
    add_profile_response(mock_http, twitter)
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert response.status_code == 200, response.json()
    account = AccountAccess.objects.get()
    assert (account.access_token, account.token_secret) == (ACCESS_TOKEN, expected_secret)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error"),
    [
        (401, "oauth_problem=token_rejected&oauth_problem_advice=Token+was+used", FORM, "token_rejected"),
        (401, "", "text/html", "http_401"),
        (400, "error=invalid_request&error_description=Invalid+verifier+format.", FORM, "invalid_request"),
        (200, "oauth_problem=verifier_invalid", FORM, "verifier_invalid"),
    ],
    ids=["problem-reporting", "empty-401", "oauthlib-400", "problem-with-200"],
)
def test_rejected_verifier_is_token_exchange_failed(start_flow, twitter, mock_http, status, body, content_type, error):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter, body, status=status, content_type=content_type)
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert_error(response, 400, "token_exchange_failed")
    assert error in response.json()["errors"][0]["detail"]
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (503, "<html>Service Unavailable</html>", "text/html"),
        (200, "<html>Sign in</html>", "text/html"),
        (200, "user_id=583231", FORM),
        (200, "[1, 2]", "application/json"),
    ],
    ids=["5xx", "html", "no-token", "json-list"],
)
def test_broken_access_token_response(start_flow, twitter, mock_http, status, body, content_type):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter, body, status=status, content_type=content_type)
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert_nothing_stored()


def test_access_token_timeout_is_provider_timeout(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)
    mock_http.add(responses.POST, twitter.access_token_url, body=requests.exceptions.ReadTimeout())
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert_error(response, 504, "provider_timeout", type_="server_error")
    assert_nothing_stored()


def test_denied_makes_no_token_request(start_flow, twitter, mock_http):
    """The user pressed Cancel, so the provider redirected with denied=<request token>."""
    add_request_token_response(mock_http, twitter)
    access_token_call = add_access_token_response(mock_http, twitter)
    flow = start_flow(twitter)

    response = flow.callback(error="denied")

    assert_error(response, 400, "access_denied")
    assert access_token_call.call_count == 0
    assert_nothing_stored()
    assert_error(flow.callback(**callback_data()), 400, "invalid_state")


def test_mismatched_oauth_token_makes_no_token_request(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)
    access_token_call = add_access_token_response(mock_http, twitter)
    flow = start_flow(twitter)

    response = flow.callback(**callback_data(oauth_token="req-tok-of-another-flow"))

    assert_error(response, 400, "token_exchange_failed")
    assert "oauth_token is not the request token of this flow" in response.json()["errors"][0]["detail"]
    assert access_token_call.call_count == 0
    assert_nothing_stored()


@pytest.mark.parametrize("missing", ["oauth_token", "oauth_verifier"])
def test_callback_without_oauth_field_is_rejected(start_flow, twitter, mock_http, missing):
    add_request_token_response(mock_http, twitter)
    flow = start_flow(twitter)
    data = callback_data()
    del data[missing]

    response = flow.callback(**data)

    assert_error(response, 400, "required", type_="validation_error", attr=missing)
    assert PendingAuthorization.objects.get().used_at is None


def test_requested_scope_is_not_sent(start_flow, twitter, mock_http):
    add_request_token_response(mock_http, twitter)

    flow = start_flow(twitter, scope=["read", "write"])

    recorded = mock_http.calls[0]
    assert "scope" not in recorded.request.url
    assert "scope" not in oauth_parameters(recorded)
    assert not recorded.request.body
    assert "scope" not in flow.authorize_response["authorization_url"]


# Secrets: none of these may appear in a log record (even at DEBUG) or in an API response.
# The request token is not among them, because the authorization URL must carry it.
SECRETS = [REQUEST_TOKEN_SECRET, VERIFIER, ACCESS_TOKEN, TOKEN_SECRET, CLIENT_SECRET]


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked: {secret[:6]}..."


def test_sign_in_logs_and_returns_no_secret(start_flow, twitter, mock_http, all_logs):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    add_profile_response(mock_http, twitter)
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert response.status_code == 200
    assert_no_secret(str(flow.authorize_response))
    assert_no_secret(response.content.decode())
    assert any("status=200" in record.getMessage() for record in all_logs.records)
    assert_no_secret(all_logs.text)
    assert_no_secret(" ".join(str(record.args) for record in all_logs.records))


def test_failed_exchange_logs_no_secret(start_flow, twitter, mock_http, all_logs):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter, f"oauth_problem=verifier_invalid&echo={VERIFIER}", status=401)
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert response.status_code == 400
    assert_no_secret(response.content.decode())
    assert_no_secret(all_logs.text)


def test_failed_profile_logs_no_secret(start_flow, twitter, mock_http, all_logs):
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    mock_http.add(responses.GET, twitter.profile_url, status=401, json={"errors": [{"code": 89}], "echo": TOKEN_SECRET})
    flow = start_flow(twitter)

    response = flow.callback(**callback_data())

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert_no_secret(response.content.decode())
    assert_no_secret(all_logs.text)


def test_provider_response_has_no_credentials(api_client, twitter):
    response = api_client.get("/api/v1/providers/twitter/")

    assert response.json() == {"name": "twitter", "display_name": "Example", "protocol": "oauth1", "scope": []}
    assert_no_secret(response.content.decode())


@pytest.mark.parametrize(
    ("content_type", "body"),
    [(FORM, b"status=hello+w%C3%B6rld"), ("application/json", b'{"status": "hello"}')],
    ids=["form", "json"],
)
def test_signed_api_request_with_raw_body(twitter, mock_http, content_type, body):
    """The proxy forwards the caller's body as bytes with the caller's Content-Type."""
    url = "https://api.twitter.test/1.1/statuses/update.json"
    mock_http.add(responses.POST, url, json={"id": 1})
    token = ProviderToken(access_token=ACCESS_TOKEN, token_type="OAuth1", token_secret=TOKEN_SECRET)

    get_client(twitter).request("POST", url, token, headers={"Content-Type": content_type}, data=body)

    recorded = mock_http.calls[0]
    assert signature_is_valid(recorded, CLIENT_SECRET, TOKEN_SECRET)
    assert recorded.request.body == body


def test_profile_url_query_is_signed(start_flow, twitter, mock_http):
    twitter.profile_url = "https://api.twitter.test/1.1/account/verify_credentials.json?include_email=true"
    twitter.save()
    add_request_token_response(mock_http, twitter)
    add_access_token_response(mock_http, twitter)
    add_profile_response(mock_http, twitter)
    flow = start_flow(twitter)

    assert flow.callback(**callback_data()).status_code == 200

    recorded = mock_http.calls[2]
    assert recorded.request.url == twitter.profile_url
    assert signature_is_valid(recorded, CLIENT_SECRET, TOKEN_SECRET)
