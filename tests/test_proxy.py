"""Tests of the authenticated API proxy, with the provider faked by ``responses``."""

import json
import logging
import socket
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
import responses
import urllib3.connection
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle

from allaccess_api.clients.pinning import PinnedAddressAdapter, is_allowed_address
from allaccess_api.clients.session import get_session
from allaccess_api.models import AccountAccess, AccountStatus, Protocol
from allaccess_api.tokens import issue_tokens
from tests.conftest import add_profile_response, add_token_response, make_provider, strip_detail

User = get_user_model()
API = "https://api.example.test"


@pytest.fixture
def user(db):
    return User.objects.create_user("alice")


@pytest.fixture
def account(provider, user):
    return AccountAccess.objects.create(
        provider=provider,
        user=user,
        identifier="583231",
        access_token="tok_access_1",
        refresh_token="ref_1",
        token_type="Bearer",
        expires_at=timezone.now() + timedelta(hours=1),
        scope=["read:user"],
    )


@pytest.fixture
def client(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user).access}")
    return api_client


def proxy_url(account, path):
    return f"/api/v1/accounts/{account.pk}/proxy/{path}"


def body_of(response):
    return b"".join(response.streaming_content)


def assert_error(response, status, code, type_="client_error"):
    assert response.status_code == status, response.content
    assert strip_detail(response.json()) == {"type": type_, "errors": [{"code": code, "attr": None}]}


def echo(request):
    """A provider endpoint that returns what it received."""
    body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"method": request.method, "url": request.url, "headers": dict(request.headers), "body": body}
    )


def add_echo(mock_http, method=responses.GET, url=f"{API}/user/repos"):
    return mock_http.add_callback(method, url, callback=echo)


# Forwarding


def test_get_sends_bearer_token(client, account, mock_http):
    add_echo(mock_http)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 200
    seen = json.loads(body_of(response))
    assert seen["headers"]["Authorization"] == "Bearer tok_access_1"
    assert response["Content-Type"] == "application/json"


def test_lowercase_token_type_sends_canonical_bearer(client, account, mock_http):
    """H07: a provider that issued token_type "bearer" still gets "Bearer", never a query parameter."""
    AccountAccess.objects.filter(pk=account.pk).update(token_type="bearer")
    add_echo(mock_http)

    seen = json.loads(body_of(client.get(proxy_url(account, "user/repos") + "?page=2")))

    assert seen["headers"]["Authorization"] == "Bearer tok_access_1"
    assert seen["url"] == f"{API}/user/repos?page=2"


def test_query_and_body_pass_through(client, account, mock_http):
    add_echo(mock_http, responses.POST)

    response = client.post(proxy_url(account, "user/repos") + "?a=1&b=x%20y&a=2", data=b'{"name": "r"}',
                           content_type="application/json")

    seen = json.loads(body_of(response))
    assert seen["method"] == "POST"
    assert seen["url"] == f"{API}/user/repos?a=1&b=x%20y&a=2"
    assert seen["body"] == '{"name": "r"}'
    assert seen["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_pass_through(client, account, mock_http, method):
    add_echo(mock_http, method.upper())

    response = getattr(client, method)(proxy_url(account, "user/repos"), data=b"x=1",
                                       content_type="application/x-www-form-urlencoded")

    seen = json.loads(body_of(response))
    assert (seen["method"], seen["body"]) == (method.upper(), "x=1")


def test_allowed_request_headers_pass(client, account, mock_http):
    add_echo(mock_http)

    response = client.get(proxy_url(account, "user/repos"), HTTP_ACCEPT="application/vnd.github+json",
                          HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH='"abc"',
                          HTTP_IF_MODIFIED_SINCE="Wed, 21 Oct 2015 07:28:00 GMT")

    assert response.status_code == 200
    headers = json.loads(body_of(response))["headers"]
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["Accept-Language"] == "de"
    assert headers["If-None-Match"] == '"abc"'
    assert headers["If-Modified-Since"] == "Wed, 21 Oct 2015 07:28:00 GMT"


def test_own_and_hop_by_hop_headers_stay_here(client, account, mock_http):
    add_echo(mock_http)

    response = client.get(
        proxy_url(account, "user/repos"),
        HTTP_COOKIE="sessionid=s3cr3t",
        HTTP_X_FORWARDED_FOR="10.0.0.1",
        HTTP_X_FORWARDED_HOST="evil.test",
        HTTP_X_HOST="evil.test",
        HTTP_CONNECTION="close, Authorization",
        HTTP_TE="trailers",
        HTTP_UPGRADE="websocket",
        HTTP_KEEP_ALIVE="timeout=5",
        HTTP_PROXY_AUTHORIZATION="Basic Zm9vOmJhcg==",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_X_API_KEY="client-key",
    )

    headers = json.loads(body_of(response))["headers"]
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("cookie", "x-forwarded-for", "x-forwarded-host", "x-host", "te", "upgrade", "keep-alive",
                 "proxy-authorization", "transfer-encoding", "x-api-key", "host"):
        assert name not in lowered, name
    assert lowered["connection"] == "keep-alive"
    assert lowered["authorization"] == "Bearer tok_access_1"


def test_our_jwt_never_reaches_the_provider(client, account, mock_http):
    add_echo(mock_http)
    jwt = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")

    raw = body_of(client.get(proxy_url(account, "user/repos")))

    assert jwt.encode() not in raw


@pytest.mark.parametrize("value", ["application/json\r\nX-Injected: 1", "application/json\nX: 1", "a\x00b"])
def test_control_characters_in_header_rejected(client, account, mock_http, value):
    response = client.get(proxy_url(account, "user/repos"), HTTP_ACCEPT=value)

    assert_error(response, 400, "parse_error")
    assert len(mock_http.calls) == 0


def test_provider_api_headers_are_added(client, account, mock_http):
    account.provider.api_headers = {"Client-Id": "example-client-id"}
    account.provider.save()
    add_echo(mock_http)

    headers = json.loads(body_of(client.get(proxy_url(account, "user/repos"))))["headers"]

    assert headers["Client-Id"] == "example-client-id"


def test_allowed_response_headers_pass(client, account, mock_http):
    upstream_headers = {
        "ETag": '"v1"', "Link": '<https://api.example.test/x?page=2>; rel="next"', "Retry-After": "30",
        "Cache-Control": "private, max-age=60", "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        "X-RateLimit-Remaining": "4999", "X-Rate-Limit-Reset": "1700000000", "RateLimit-Policy": "100;w=60",
        "RateLimit": "limit=100, remaining=50, reset=5",
    }
    mock_http.add(responses.GET, f"{API}/user/repos", body="[]", content_type="application/json",
                  headers=upstream_headers)

    response = client.get(proxy_url(account, "user/repos"))

    for name, value in upstream_headers.items():
        assert response[name] == value, name
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("upstream, expected", [
    ("public, max-age=60", "private, max-age=60"),
    ("max-age=60, s-maxage=600", "private, max-age=60"),
    ("no-store", "no-store"),
    ("private, no-cache", "private, no-cache"),
])
def test_cache_control_made_private(client, account, mock_http, upstream, expected):
    mock_http.add(responses.GET, f"{API}/user/repos", body="[]", headers={"Cache-Control": upstream})

    response = client.get(proxy_url(account, "user/repos"))

    assert response["Cache-Control"] == expected


def test_other_response_headers_are_dropped(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", body="[]", content_type="application/json", headers={
        "Set-Cookie": "provider_session=abc; HttpOnly", "Server": "nginx/1.0", "X-Powered-By": "PHP",
        "Strict-Transport-Security": "max-age=1", "Access-Control-Allow-Origin": "*",
        "WWW-Authenticate": 'Bearer realm="api"', "Allow": "GET",
    })

    response = client.get(proxy_url(account, "user/repos"))

    for name in ("Set-Cookie", "Server", "X-Powered-By", "Strict-Transport-Security",
                 "Access-Control-Allow-Origin", "WWW-Authenticate", "Allow"):
        assert not response.has_header(name), name
    assert not response.cookies


def test_response_without_content_type_gets_none(client, account, mock_http):
    mock_http.add(responses.DELETE, f"{API}/user/repos", status=204, content_type=None)

    response = client.delete(proxy_url(account, "user/repos"))

    assert response.status_code == 204
    assert not response.has_header("Content-Type")


def test_accept_for_the_provider_is_not_negotiated_here(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", body="<x/>", content_type="application/xml")

    response = client.get(proxy_url(account, "user/repos"), HTTP_ACCEPT="application/xml")

    assert response.status_code == 200
    assert body_of(response) == b"<x/>"


@pytest.mark.parametrize("status", [200, 201, 304, 404, 422, 429, 503])
def test_provider_status_passes_through(client, account, mock_http, status):
    mock_http.add(responses.GET, f"{API}/user/repos", body="", status=status)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == status


def test_provider_500_is_provider_unavailable(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", body="<html>oops</html>", status=500)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 502
    assert strip_detail(response.json()) == {"type": "server_error",
                                             "errors": [{"code": "provider_unavailable", "attr": None}]}


def test_path_with_encoded_percent_stays_encoded(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/files/100%25", body="ok")

    response = client.get(proxy_url(account, "files/100%25"))

    assert body_of(response) == b"ok"
    assert mock_http.calls[0].request.url == f"{API}/files/100%25"


def test_base_url_path_prefix_is_kept(client, user, mock_http):
    provider = make_provider("gitlab", api_base_url="https://gitlab.test/api/v4")
    account = AccountAccess.objects.create(provider=provider, user=user, identifier="7", access_token="tok_g")
    mock_http.add(responses.GET, "https://gitlab.test/api/v4/projects", body="[]")

    response = client.get(proxy_url(account, "projects"))

    assert response.status_code == 200


# Paths outside the API base URL


TRAVERSALS = [
    "../secret",
    "repos/../../secret",
    "./repos",
    "repos/..",
    "%2e%2e/secret",
    "%2E%2E/secret",
    ".%2e/secret",
    "%252e%252e/secret",
    "%25252e%25252e/secret",
    "%2525252e%2525252e/secret",
    "..%2fsecret",
    "..%252fsecret",
    "..%5csecret",
    "..%255csecret",
    "repos%2f%2e%2e%2f%2e%2e%2fsecret",
    "%c0%ae%c0%ae/secret",
    "%ef%bc%8e%ef%bc%8e/secret",
    "https://evil.test/steal",
    "https:%2f%2fevil.test/steal",
    "https:%252f%252fevil.test/steal",
    "%2f%2fevil.test/steal",
    "repos//x",
    "user@evil.test/x",
    "user%40evil.test/x",
    "user%2540evil.test/x",
    "repos%5cx",
    "repos%00x",
    "repos%0d%0aHost:%20evil.test",
    "repos%250d%250aX:%201",
    "repos%09x",
    "repos%7fx",
    "repos%e2%80%a8x",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_outside_base_url_rejected(client, account, mock_http, path):
    response = client.get(proxy_url(account, path))

    assert_error(response, 400, "path_not_allowed")
    assert len(mock_http.calls) == 0


def test_leading_slash_rejected(client, account, mock_http):
    response = client.get(f"/api/v1/accounts/{account.pk}/proxy//evil.test/steal")

    assert_error(response, 400, "path_not_allowed")


@pytest.mark.parametrize("query", ["a=1%0d%0aX:1", "a=1#frag"])
def test_query_with_control_characters_rejected(client, account, mock_http, query):
    response = client.get(proxy_url(account, "repos"), QUERY_STRING=query.replace("%0d%0a", "\r\n"))

    assert_error(response, 400, "path_not_allowed")
    assert len(mock_http.calls) == 0


def test_provider_without_api_base_url_rejected(client, account, mock_http):
    account.provider.api_base_url = ""
    account.provider.save()

    response = client.get(proxy_url(account, "repos"))

    assert_error(response, 400, "path_not_allowed")


def test_redirect_is_returned_not_followed(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", status=302, headers={"Location": "https://evil.test/steal"})
    evil = mock_http.add(responses.GET, "https://evil.test/steal", body="stolen")

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 302
    assert not response.has_header("Location")
    assert evil.call_count == 0


def test_relative_location_is_not_passed(client, account, mock_http):
    mock_http.add(responses.DELETE, f"{API}/user/repos", status=307, headers={"Location": "/api/v1/accounts/1/"})

    response = client.delete(proxy_url(account, "user/repos"))

    assert response.status_code == 307
    assert not response.has_header("Location")


@pytest.mark.parametrize("status", [101, 199, 600, 999])
def test_provider_status_outside_final_range_is_provider_unavailable(client, account, mock_http, status):
    mock_http.add(responses.GET, f"{API}/user/repos", body="", status=status)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == "provider_unavailable"


@pytest.mark.parametrize("path", ["..;/admin", "a/..;/..;/x", ".;x/y", "a/%2e%2e;jsessionid=1/b"])
def test_dot_segment_with_path_parameter_rejected(client, account, mock_http, path):
    response = client.get(proxy_url(account, path))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "path_not_allowed"


def test_semicolon_in_path_is_sent_encoded(client, account, mock_http):
    upstream = mock_http.add(responses.GET, f"{API}/x%3Bjsessionid=1", body="ok")

    client.get(proxy_url(account, "x;jsessionid=1"))

    assert upstream.call_count == 1


def test_non_ascii_query_bytes_are_encoded_once(client, account, mock_http):
    upstream = mock_http.add(responses.GET, f"{API}/search", body="ok")

    client.get(proxy_url(account, "search"), QUERY_STRING="q=\xc3\xa9")

    assert upstream.calls[0].request.url == f"{API}/search?q=%C3%A9"


def test_disabled_provider_is_not_proxied(client, account, mock_http):
    account.provider.enabled = False
    account.provider.save()

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "provider_not_found"
    assert len(mock_http.calls) == 0


def test_account_unlinked_during_request_is_not_found(client, account, mock_http):
    def unlink_then_reject(request):
        AccountAccess.objects.filter(pk=account.pk).delete()
        return 401, {}, ""

    mock_http.add_callback(responses.GET, f"{API}/user/repos", callback=unlink_then_reject)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


# Who may use it


def test_anonymous_rejected(api_client, account, mock_http):
    response = api_client.get(proxy_url(account, "user/repos"))

    assert_error(response, 401, "not_authenticated")


def test_other_users_account_not_found(client, provider, mock_http):
    other = User.objects.create_user("bob")
    theirs = AccountAccess.objects.create(provider=provider, user=other, identifier="9", access_token="tok_bob")

    response = client.get(proxy_url(theirs, "user/repos"))

    assert_error(response, 404, "not_found")
    assert len(mock_http.calls) == 0


def test_proxy_is_throttled(client, account, mock_http, monkeypatch):
    # DRF reads the rates into a class attribute at import, so its own tests patch it the same way.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"allaccess_proxy": "2/min"})
    mock_http.add(responses.GET, f"{API}/user/repos", body="[]")

    statuses = [client.get(proxy_url(account, "user/repos")).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


# Refreshing the access token


def refresh_form(call):
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


def test_expired_token_is_refreshed_first(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    token_call = add_token_response(mock_http, account.provider, {
        "access_token": "tok_access_2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "ref_2"})
    add_echo(mock_http)

    seen = json.loads(body_of(client.get(proxy_url(account, "user/repos"))))

    assert seen["headers"]["Authorization"] == "Bearer tok_access_2"
    form = refresh_form(token_call.calls[0])
    assert (form["grant_type"], form["refresh_token"]) == ("refresh_token", "ref_1")
    account.refresh_from_db()
    assert (account.access_token, account.refresh_token) == ("tok_access_2", "ref_2")
    assert account.expires_at > timezone.now()


def test_token_within_margin_is_refreshed(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(expires_at=timezone.now() + timedelta(seconds=10))
    token_call = add_token_response(mock_http, account.provider)
    add_echo(mock_http)

    client.get(proxy_url(account, "user/repos"))

    assert token_call.call_count == 1


def test_provider_401_refreshes_and_retries_once(client, account, mock_http):
    first = mock_http.add(responses.GET, f"{API}/user/repos", status=401)
    token_call = add_token_response(mock_http, account.provider, {"access_token": "tok_access_2"})
    add_echo(mock_http)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 200
    assert json.loads(body_of(response))["headers"]["Authorization"] == "Bearer tok_access_2"
    assert (first.call_count, token_call.call_count) == (1, 1)


def test_refresh_without_refresh_token_keeps_stored_one(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    add_token_response(mock_http, account.provider, {"access_token": "tok_access_2", "expires_in": 3600})
    add_echo(mock_http)

    client.get(proxy_url(account, "user/repos"))

    account.refresh_from_db()
    assert (account.access_token, account.refresh_token) == ("tok_access_2", "ref_1")


def test_rejected_refresh_requires_reauthorization(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    add_token_response(mock_http, account.provider, {"error": "invalid_grant"}, status=400)

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 409, "reauthorization_required")
    account.refresh_from_db()
    assert account.status == AccountStatus.REAUTHORIZATION_REQUIRED
    assert (account.access_token, account.refresh_token) == ("tok_access_1", "ref_1")


def test_401_without_refresh_token_requires_reauthorization(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(refresh_token="")
    mock_http.add(responses.GET, f"{API}/user/repos", status=401)

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 409, "reauthorization_required")
    account.refresh_from_db()
    assert account.status == AccountStatus.REAUTHORIZATION_REQUIRED
    assert account.access_token == "tok_access_1"


def test_401_after_refresh_is_never_401(client, account, mock_http):
    upstream = mock_http.add(responses.GET, f"{API}/user/repos", status=401)
    token_call = add_token_response(mock_http, account.provider, {"access_token": "tok_access_2"})

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 409, "reauthorization_required")
    assert (upstream.call_count, token_call.call_count) == (2, 1)
    account.refresh_from_db()
    assert account.status == AccountStatus.REAUTHORIZATION_REQUIRED


def test_unreachable_token_endpoint_changes_nothing(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    add_token_response(mock_http, account.provider, "<html>down</html>", status=503, content_type="text/html")

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 502, "provider_unavailable", "server_error")
    account.refresh_from_db()
    assert (account.status, account.access_token) == (AccountStatus.ACTIVE, "tok_access_1")


def test_account_needing_reauthorization_is_409_without_request(client, account, mock_http):
    AccountAccess.objects.filter(pk=account.pk).update(status=AccountStatus.REAUTHORIZATION_REQUIRED)

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 409, "reauthorization_required")
    assert len(mock_http.calls) == 0


def test_new_sign_in_reactivates_account(client, account, mock_http, start_flow):
    AccountAccess.objects.filter(pk=account.pk).update(status=AccountStatus.REAUTHORIZATION_REQUIRED)
    add_token_response(mock_http, account.provider, {"access_token": "tok_access_3", "refresh_token": "ref_3"})
    add_profile_response(mock_http, account.provider)
    assert start_flow(account.provider).callback(code="code-1").status_code == 200
    add_echo(mock_http)

    detail = client.get(f"/api/v1/accounts/{account.pk}/").json()
    seen = json.loads(body_of(client.get(proxy_url(account, "user/repos"))))

    assert detail["status"] == "active"
    assert seen["headers"]["Authorization"] == "Bearer tok_access_3"


# Provider failures and limits


def test_provider_timeout_is_504(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", body=requests.exceptions.ReadTimeout())

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 504, "provider_timeout", "server_error")


def test_unreachable_provider_is_502(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", body=requests.exceptions.ConnectionError())

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 502, "provider_unavailable", "server_error")


def test_request_body_over_limit_is_413(client, account, mock_http, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "PROXY_MAX_REQUEST_BYTES": 10}

    response = client.post(proxy_url(account, "user/repos"), data=b"x" * 11, content_type="text/plain")

    assert_error(response, 413, "request_too_large")
    assert len(mock_http.calls) == 0


def test_request_body_at_limit_passes(client, account, mock_http, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "PROXY_MAX_REQUEST_BYTES": 10}
    add_echo(mock_http, responses.POST)

    response = client.post(proxy_url(account, "user/repos"), data=b"x" * 10, content_type="text/plain")

    assert json.loads(body_of(response))["body"] == "x" * 10


def test_declared_response_over_limit_is_502(client, account, mock_http, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "PROXY_MAX_RESPONSE_BYTES": 10}
    mock_http.add(responses.GET, f"{API}/user/repos", body=b"x" * 11, headers={"Content-Length": "11"})

    response = client.get(proxy_url(account, "user/repos"))

    assert_error(response, 502, "provider_unavailable", "server_error")


def test_streamed_response_over_limit_is_cut_off(client, account, mock_http, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "PROXY_MAX_RESPONSE_BYTES": 10}
    mock_http.add(responses.GET, f"{API}/user/repos", body=b"x" * 11)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 200
    with pytest.raises(Exception, match="larger than 10 bytes"):
        body_of(response)


def test_response_is_streamed(client, account, mock_http):
    mock_http.add(responses.GET, f"{API}/user/repos", body=b"y" * 300_000)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) > 1
    assert b"".join(chunks) == b"y" * 300_000


def test_no_token_in_logs_or_responses(client, account, mock_http, caplog):
    caplog.set_level(logging.DEBUG)
    AccountAccess.objects.filter(pk=account.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    add_token_response(mock_http, account.provider, {"access_token": "tok_access_2", "refresh_token": "ref_2"})
    mock_http.add(responses.GET, f"{API}/user/repos", status=401)

    response = client.get(proxy_url(account, "user/repos"))

    assert response.status_code == 409
    for secret in ("tok_access_1", "tok_access_2", "ref_1", "ref_2", "secret-client-value-1"):
        assert secret not in caplog.text
        assert secret not in response.content.decode()


# OAuth 1.0a


def test_oauth1_request_is_signed(client, user, mock_http):
    provider = make_provider("twitter", protocol=Protocol.OAUTH1, request_token_url="https://twitter.test/request",
                             api_base_url="https://api.twitter.test/1.1/")
    account = AccountAccess.objects.create(provider=provider, user=user, identifier="12", access_token="tok_o1",
                                           token_secret="sec_o1", token_type="OAuth1")
    upstream = mock_http.add(responses.GET, "https://api.twitter.test/1.1/account/verify_credentials.json",
                             json={"id": 12})

    response = client.get(proxy_url(account, "account/verify_credentials.json"))

    assert response.status_code == 200
    authorization = upstream.calls[0].request.headers["Authorization"].decode()
    assert authorization.startswith("OAuth ")
    assert 'oauth_token="tok_o1"' in authorization
    assert 'oauth_signature_method="HMAC-SHA1"' in authorization
    assert "sec_o1" not in authorization


@pytest.mark.parametrize("body", [b"a=b c", b"a=%zz", b"a=\xc3\xa9", b"{\"json\": 1}"])
def test_oauth1_unsignable_form_body_rejected(client, user, mock_http, body):
    provider = make_provider("twitter", protocol=Protocol.OAUTH1, request_token_url="https://twitter.test/request",
                             api_base_url="https://api.twitter.test/1.1/")
    account = AccountAccess.objects.create(provider=provider, user=user, identifier="12", access_token="tok_o1",
                                           token_secret="sec_o1", token_type="OAuth1")

    response = client.post(proxy_url(account, "statuses/update.json"), data=body,
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "parse_error", "attr": None}]}
    assert len(mock_http.calls) == 0


def test_oauth1_401_requires_reauthorization(client, user, mock_http):
    provider = make_provider("twitter", protocol=Protocol.OAUTH1, request_token_url="https://twitter.test/request",
                             api_base_url="https://api.twitter.test/1.1/")
    account = AccountAccess.objects.create(provider=provider, user=user, identifier="12", access_token="tok_o1",
                                           token_secret="sec_o1", token_type="OAuth1")
    mock_http.add(responses.GET, "https://api.twitter.test/1.1/statuses", status=401)

    response = client.get(proxy_url(account, "statuses"))

    assert_error(response, 409, "reauthorization_required")
    account.refresh_from_db()
    assert account.status == AccountStatus.REAUTHORIZATION_REQUIRED


# Address checks and pinning (no request leaves this process: the resolver and the connection are faked)


class FakeNetwork:
    """Resolve names from a table in place of getaddrinfo, and record connection attempts instead of making them."""

    def __init__(self, monkeypatch, answers):
        self.answers = answers
        self.lookups = []
        self.connections = []
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)
        monkeypatch.setattr(urllib3.connection.connection, "create_connection", self.create_connection)

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.lookups.append(host)
        answer = self.answers[host]
        addresses = answer.pop(0) if isinstance(answer[0], list) else answer
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (address, port)) for address in addresses]

    def create_connection(self, address, *args, **kwargs):
        self.connections.append(address)
        raise ConnectionRefusedError("connection attempts are faked in this test")


@pytest.fixture
def no_mock(account):
    """The session's real adapter, without ``responses``."""
    return account


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "127.0.0.1", "::ffff:192.168.1.1", "fd00:ec2::254"])
def test_host_resolving_to_private_address_rejected(client, no_mock, monkeypatch, address):
    network = FakeNetwork(monkeypatch, {"api.example.test": [address]})

    response = client.get(proxy_url(no_mock, "user/repos"))

    assert_error(response, 502, "provider_unavailable", "server_error")
    assert network.connections == []


def test_host_with_one_private_address_rejected(client, no_mock, monkeypatch):
    network = FakeNetwork(monkeypatch, {"api.example.test": ["93.184.216.34", "10.0.0.7"]})

    response = client.get(proxy_url(no_mock, "user/repos"))

    assert_error(response, 502, "provider_unavailable", "server_error")
    assert network.connections == []


def test_connection_goes_to_checked_address(client, no_mock, monkeypatch):
    # A rebinding name: public for the check, private for any later lookup.
    network = FakeNetwork(monkeypatch, {"api.example.test": [["93.184.216.34"], ["10.0.0.7"], ["10.0.0.7"]],
                                        "93.184.216.34": ["93.184.216.34"]})

    response = client.get(proxy_url(no_mock, "user/repos"))

    assert response.status_code == 502
    assert network.connections == [("93.184.216.34", 443)]
    assert network.lookups.count("api.example.test") == 1


def test_pinned_connection_keeps_hostname_for_tls(monkeypatch, settings):
    FakeNetwork(monkeypatch, {"api.example.test": ["93.184.216.34"]})
    request = requests.Request("GET", f"{API}/user").prepare()
    adapter = PinnedAddressAdapter()

    pool = adapter.get_connection_with_tls_context(request, verify=True)
    adapter.add_headers(request)

    assert (pool.host, pool.port) == ("93.184.216.34", 443)
    assert pool.conn_kw["server_hostname"] == "api.example.test"
    assert request.headers["Host"] == "api.example.test"


def test_pinned_host_header_keeps_port(monkeypatch, settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True}
    FakeNetwork(monkeypatch, {"localhost": ["127.0.0.1"]})
    request = requests.Request("GET", "http://localhost:8080/user").prepare()
    adapter = PinnedAddressAdapter()

    pool = adapter.get_connection_with_tls_context(request, verify=True)
    adapter.add_headers(request)

    assert (pool.host, pool.port) == ("127.0.0.1", 8080)
    assert request.headers["Host"] == "localhost:8080"


def test_session_ignores_proxy_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")

    assert get_session().trust_env is False


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "127.1.2.3", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
    "::ffff:169.254.169.254", "2002:a00:1::", "2002:a9fe:a9fe::", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",
    "2001:db8::1", "fec0::1", "feff::1",
])
def test_disallowed_addresses(address):
    assert is_allowed_address(address) is False


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_allowed(address):
    assert is_allowed_address(address) is True


def test_loopback_allowed_only_with_insecure_loopback(settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True}

    assert is_allowed_address("127.0.0.1") is True
    assert is_allowed_address("::1") is True
    assert is_allowed_address("10.0.0.1") is False
    assert is_allowed_address("169.254.169.254") is False
