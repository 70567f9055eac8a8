"""Provider behaviours that broke other OAuth 2.0 clients, each tested through the public API.

Every test fakes one provider response the way real providers have sent it and
checks what the API does with it. The ids (H01 ...) name the recorded cases.
"""

import base64
import socket
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone

from allaccess_api.models import AccountAccess, Protocol
from tests.conftest import (
    CLIENT_SECRET,
    add_profile_response,
    add_token_response,
    assert_error,
    assert_nothing_stored,
    make_provider,
)

pytestmark = pytest.mark.django_db
User = get_user_model()




def test_h01_form_encoded_token_response(start_flow, provider, mock_http):
    token_call = add_token_response(
        mock_http, provider, "access_token=tok_a1&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer",
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    assert token_call.calls[0].request.headers["Accept"] == "application/json"
    assert response.json()["account"]["scope"] == ["read:user", "user:email"]
    assert AccountAccess.objects.get().access_token == "tok_a1"


def test_h01_json_response(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a1", "token_type": "bearer"})
    add_profile_response(mock_http, provider)

    assert start_flow(provider).callback(code="code-1").status_code == 200


def test_h01_json_body_labelled_as_text(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, '{"access_token": "tok_a1"}', content_type="text/html")
    add_profile_response(mock_http, provider)

    assert start_flow(provider).callback(code="code-1").status_code == 200
    assert AccountAccess.objects.get().access_token == "tok_a1"


@pytest.mark.parametrize("expires_in", ["3600", 3600, "3600.0", " 3600 "])
def test_h02_expires_in_as_number_or_string(start_flow, provider, mock_http, expires_in):
    add_token_response(mock_http, provider, {"access_token": "tok_a2", "token_type": "Bearer",
                                             "expires_in": expires_in})
    add_profile_response(mock_http, provider)
    before = timezone.now()

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    expires_at = AccountAccess.objects.get().expires_at
    assert before + timedelta(seconds=3595) <= expires_at <= timezone.now() + timedelta(seconds=3600)
    assert response.json()["account"]["expires_at"] is not None


@pytest.mark.parametrize("expires_in", ["soon", "", None, -5, 0, "1e400"])
def test_h02_unusable_expires_in_means_no_expiry(start_flow, provider, mock_http, expires_in):
    add_token_response(mock_http, provider, {"access_token": "tok_a2", "expires_in": expires_in})
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    assert AccountAccess.objects.get().expires_at is None


def test_h04_error_with_status_200(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"error": "bad_verification_code",
                                             "error_description": "The code passed is incorrect or expired."})
    profile_call = add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 400, "token_exchange_failed")
    assert "bad_verification_code" in response.json()["errors"][0]["detail"]
    assert profile_call.call_count == 0
    assert_nothing_stored()


def test_h05_error_with_ok_false(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"ok": False, "error": "invalid_code"})

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 400, "token_exchange_failed")
    assert "invalid_code" in response.json()["errors"][0]["detail"]
    assert_nothing_stored()


def test_h05_rfc_error_with_status_400(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"error": "invalid_grant"}, status=400)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 400, "token_exchange_failed")
    assert "invalid_grant" in response.json()["errors"][0]["detail"]


def test_h06_missing_token_type_is_bearer(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a6", "expires_in": 3600})
    profile_call = add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    assert AccountAccess.objects.get().token_type == "Bearer"
    assert profile_call.calls[0].request.headers["Authorization"] == "Bearer tok_a6"


def test_h07_lowercase_token_type_sends_canonical_bearer(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a7", "token_type": "bearer"})
    profile_call = add_profile_response(mock_http, provider)

    start_flow(provider).callback(code="code-1")

    request = profile_call.calls[0].request
    assert request.headers["Authorization"] == "Bearer tok_a7"
    assert "tok_a7" not in request.url
    assert AccountAccess.objects.get().token_type == "Bearer"


@pytest.mark.parametrize("scope", ["read:user,user:email", "read:user user:email", "read:user, user:email",
                                   ["read:user", "user:email"]])
def test_h08_scope_separators(start_flow, provider, mock_http, scope):
    add_token_response(mock_http, provider, {"access_token": "tok_a8", "token_type": "bearer", "scope": scope})
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.json()["account"]["scope"] == ["read:user", "user:email"]


def test_h08_granted_scope_differing_from_request_is_recorded(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a8", "scope": "read:user"})
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    assert response.json()["account"]["scope"] == ["read:user"]


def test_h08_omitted_scope_means_requested_scope(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a8"})
    add_profile_response(mock_http, provider)

    response = start_flow(provider, scope=["repo"]).callback(code="code-1")

    assert response.json()["account"]["scope"] == ["repo"]


def test_h09_missing_refresh_token_keeps_stored(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a9a", "token_type": "Bearer",
                                             "refresh_token": "ref_1"})
    add_profile_response(mock_http, provider)
    start_flow(provider).callback(code="code-1")
    mock_http.replace(responses.POST, provider.access_token_url,
                      json={"access_token": "tok_a9b", "token_type": "Bearer", "expires_in": 3600})

    start_flow(provider).callback(code="code-2")

    account = AccountAccess.objects.get()
    assert account.access_token == "tok_a9b"
    assert account.refresh_token == "ref_1"


def test_h10_basic_client_authentication_only(start_flow, db, mock_http):
    provider = make_provider(token_auth_method="client_secret_basic")

    def token_endpoint(request):
        if "client_secret" in (request.body or ""):
            return 401, {}, '{"message": "Unauthorized", "error": 401}'
        if not request.headers.get("Authorization", "").startswith("Basic "):
            return 401, {}, '{"message": "Unauthorized", "error": 401}'
        return 200, {"Content-Type": "application/json"}, '{"access_token": "tok_a10"}'

    mock_http.add_callback(responses.POST, provider.access_token_url, callback=token_endpoint)
    add_profile_response(mock_http, provider)

    assert start_flow(provider).callback(code="code-1").status_code == 200


def test_h10_token_401_is_exchange_failed(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"message": "Unauthorized", "error": 401}, status=401)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 400, "token_exchange_failed")
    assert "401" in response.json()["errors"][0]["detail"]
    assert_nothing_stored()


def test_h12_html_error_from_profile_is_provider_unavailable(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    profile_call = add_profile_response(mock_http, provider, "<html>Request forbidden. Send a User-Agent header.</html>",
                                        status=403, content_type="text/html")

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert profile_call.calls[0].request.headers["User-Agent"].startswith("allaccess-api/")
    assert_nothing_stored()


def test_h12_html_profile_status_200(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, "<html>maintenance</html>", content_type="text/html")

    assert_error(start_flow(provider).callback(code="code-1"), 502, "provider_unavailable", type_="server_error")


def test_h13_oidc_identifier_is_sub(start_flow, oidc_provider, mock_http):
    add_token_response(mock_http, oidc_provider)
    add_profile_response(mock_http, oidc_provider, {"sub": "110169484474386276334", "email": "user@example.org",
                                                    "email_verified": True})

    response = start_flow(oidc_provider).callback(code="code-1")

    assert response.json()["account"]["identifier"] == "110169484474386276334"
    assert response.json()["user"]["email"] == "user@example.org"


@pytest.mark.parametrize("profile", [{"email": "user@example.org"}, {"sub": None}, {"sub": ""}, {"sub": True},
                                     {"sub": {"id": 1}}, {"sub": [1]}, {"sub": 1.5}, ["sub"]])
def test_h13_profile_without_identifier_is_identifier_missing(start_flow, oidc_provider, mock_http, profile):
    add_token_response(mock_http, oidc_provider)
    add_profile_response(mock_http, oidc_provider, profile)

    response = start_flow(oidc_provider).callback(code="code-1")

    assert_error(response, 502, "identifier_missing", type_="server_error")
    assert_nothing_stored()


def test_h14_numeric_identifier_is_stored_as_string(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 12345, "login": "octo"})

    first = start_flow(provider).callback(code="code-1").json()
    second = start_flow(provider).callback(code="code-2").json()

    assert first["account"]["identifier"] == "12345"
    assert second["account"]["id"] == first["account"]["id"]
    assert second["user"]["id"] == first["user"]["id"]
    assert AccountAccess.objects.count() == 1
    assert User.objects.count() == 1


def test_h14_numeric_and_string_ids_are_one_identity(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 12345})
    first = start_flow(provider).callback(code="code-1").json()
    mock_http.replace(responses.GET, provider.profile_url, json={"id": "12345"})

    second = start_flow(provider).callback(code="code-2").json()

    assert second["account"]["id"] == first["account"]["id"]


def test_h15_non_ascii_names_round_trip(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    mock_http.add(responses.GET, provider.profile_url,
                  body='{"id": "u-15", "first_name": "Дмитрий", "last_name": "山田"}'.encode(),
                  content_type="application/json; charset=utf-8")

    body = start_flow(provider).callback(code="code-1").json()

    assert (body["user"]["first_name"], body["user"]["last_name"]) == ("Дмитрий", "山田")
    user = User.objects.get()
    assert (user.first_name, user.last_name) == ("Дмитрий", "山田")


def test_h15_non_ascii_error_description_from_token_endpoint(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"error": "invalid_grant", "error_description": "Код устарел — 期限切れ"})

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 400, "token_exchange_failed")
    assert "Код устарел — 期限切れ" in response.json()["errors"][0]["detail"]


def test_h15_non_ascii_error_description_from_redirect(start_flow, provider, mock_http):
    response = start_flow(provider).callback(error="server_error", error_description="Ошибка сервера 😕")

    assert_error(response, 400, "provider_error")
    assert "Ошибка сервера 😕" in response.json()["errors"][0]["detail"]


def test_h16_token_endpoint_503_is_provider_unavailable(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, "<html>Service Unavailable</html>", status=503, content_type="text/html")

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert_nothing_stored()


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def loopback_allowed(settings):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True, "HTTP_TIMEOUT": (1.0, 0.5)}


def test_h16_refused_connection_is_provider_unavailable(start_flow, db, loopback_allowed):
    provider = make_provider(access_token_url=f"http://127.0.0.1:{_closed_port()}/token")

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert_nothing_stored()


@pytest.fixture
def silent_server():
    """A loopback server that accepts connections and never responds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.1)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    server.close()
    for connection in connections:
        connection.close()


def test_h16_silent_token_endpoint_is_provider_timeout(start_flow, db, loopback_allowed, silent_server):
    provider = make_provider(access_token_url=f"{silent_server}/token")
    started = time.monotonic()

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 504, "provider_timeout", type_="server_error")
    assert time.monotonic() - started < 5
    assert_nothing_stored()


def test_h16_silent_profile_endpoint_is_provider_timeout(start_flow, db, loopback_allowed, silent_server, mock_http):
    provider = make_provider(profile_url=f"{silent_server}/user", protocol=Protocol.OAUTH2)
    add_token_response(mock_http, provider)
    mock_http.add_passthru(silent_server)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 504, "provider_timeout", type_="server_error")
    assert_nothing_stored()


def test_h18_identifier_path_with_list_index(start_flow, db, mock_http):
    provider = make_provider(identifier_path="data.0.id")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"data": [{"id": "141981764", "login": "streamer"}]})

    response = start_flow(provider).callback(code="code-1")

    assert response.json()["account"]["identifier"] == "141981764"


def test_h03_expires_in_text_plain_form_body(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, "access_token=tok_a3&expires=5183999", content_type="text/plain")
    add_profile_response(mock_http, provider)
    before = timezone.now()

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200, response.json()
    account = AccountAccess.objects.get()
    assert account.access_token == "tok_a3"
    assert before + timedelta(seconds=5183990) <= account.expires_at <= timezone.now() + timedelta(seconds=5183999)


def test_h03_expires_in_wins_over_expires(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok_a3", "expires_in": 3600, "expires": 5183999})
    add_profile_response(mock_http, provider)
    before = timezone.now()

    start_flow(provider).callback(code="code-1")

    assert AccountAccess.objects.get().expires_at <= before + timedelta(seconds=3601)


@pytest.mark.parametrize("body, content_type", [
    ("<html>Service temporarily unavailable</html>", "text/html"),
    ("access_token", "text/plain"),
    ("[1, 2]", "application/json"),
])
def test_h03_unparsable_token_body(start_flow, provider, mock_http, body,
                                                                     content_type):
    add_token_response(mock_http, provider, body, content_type=content_type)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert_nothing_stored()


def test_h10_post_client_authentication_only_in_body(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    assert start_flow(provider).callback(code="code-1").status_code == 200

    request = token_call.calls[0].request
    form = dict(parse_qsl(request.body))
    assert (form["client_id"], form["client_secret"]) == (provider.client_id, CLIENT_SECRET)
    assert "Authorization" not in request.headers


def test_h10_basic_credentials_are_form_encoded(start_flow, db, mock_http):
    # RFC 6749 §2.3.1: id and secret are form-encoded before Basic, so ':' in either cannot split them wrongly.
    provider = make_provider(token_auth_method="client_secret_basic", client_id="id:with space",
                             client_secret="secret/with:colon")
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    assert start_flow(provider).callback(code="code-1").status_code == 200

    expected = base64.b64encode(b"id%3Awith+space:secret%2Fwith%3Acolon").decode()
    assert token_call.calls[0].request.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in dict(parse_qsl(token_call.calls[0].request.body))


def test_h12_user_agent_on_token_request(start_flow, provider, mock_http):
    token_call = add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    start_flow(provider).callback(code="code-1")

    assert token_call.calls[0].request.headers["User-Agent"].startswith("allaccess-api/")


def test_h12_html_token_error(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, "<html>Request forbidden.</html>", status=403, content_type="text/html")

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 400, "token_exchange_failed")
    assert "http_403" in response.json()["errors"][0]["detail"]
    assert_nothing_stored()


def test_h18_identifier_path_into_nested_object(start_flow, db, mock_http):
    provider = make_provider(identifier_path="data.id")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"data": {"id": "2244994945", "name": "X Dev"}})

    response = start_flow(provider).callback(code="code-1")

    assert response.json()["account"]["identifier"] == "2244994945"


@pytest.mark.parametrize("profile", [
    {"data": []},
    {"data": [{"login": "streamer"}]},
    {"data": {"0": None}},
    {"data": "141981764"},
])
def test_h18_identifier_path_not_found_is_identifier_missing(start_flow, db, mock_http, profile):
    provider = make_provider(identifier_path="data.0.id")
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, profile)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 502, "identifier_missing", type_="server_error")
    assert_nothing_stored()


# Malformed values from providers: a 502, never a 500, and nothing stored.


@pytest.mark.parametrize("body", [
    {"access_token": "tok\ud800"},
    {"access_token": "tok\u0000x"},
    {"access_token": "tok", "token_type": "B" * 41},
    {"access_token": "tok", "token_type": "Bear\u00e9r"},
])
def test_unstorable_token_values_are_provider_unavailable(start_flow, provider, mock_http, body):
    add_token_response(mock_http, provider, body)

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert_nothing_stored()


def test_unstorable_refresh_token_and_scope_items_are_dropped(start_flow, provider, mock_http):
    add_token_response(mock_http, provider, {"access_token": "tok", "refresh_token": "ref\ud800",
                                             "scope": ["read", "bad\u0000"]})
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1")

    assert response.status_code == 200
    assert response.json()["account"]["scope"] == ["read"]
    assert AccountAccess.objects.get().refresh_token == ""


@pytest.mark.parametrize("content_type", ["application/json; charset=bogus", "text/plain; charset=no-such-codec"])
def test_unknown_charset_is_read_as_utf8(start_flow, provider, mock_http, content_type):
    add_token_response(mock_http, provider, '{"access_token": "tok_cs"}', content_type=content_type)
    add_profile_response(mock_http, provider)

    assert start_flow(provider).callback(code="code-1").status_code == 200


def test_deeply_nested_profile_is_provider_unavailable(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, "[" * 100_000 + "]" * 100_000)

    assert_error(start_flow(provider).callback(code="code-1"), 502, "provider_unavailable", type_="server_error")


@pytest.mark.parametrize("identifier", ["u\u0000", "u\ud800"])
def test_unprintable_identifier_is_identifier_missing(start_flow, provider, mock_http, identifier):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": identifier})

    assert_error(start_flow(provider).callback(code="code-1"), 502, "identifier_missing", type_="server_error")
    assert_nothing_stored()


def test_unprintable_characters_are_dropped_from_names(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider, {"id": 7, "first_name": "Ad\u0000a\ud83d", "last_name": "L"})

    body = start_flow(provider).callback(code="code-1").json()

    assert body["user"]["first_name"] == "Ada"


@pytest.fixture
def dribbling_server():
    """A loopback server that sends its headers at once, then one body byte every 0.2 s (50 at most)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n")
                for _ in range(50):
                    if stop.wait(0.2):
                        break
                    try:
                        connection.sendall(b" ")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=3)
    server.close()


def test_h16_slow_profile_body_times_out(start_flow, db, settings, dribbling_server,
                                                                   mock_http):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "INSECURE_LOOPBACK": True, "HTTP_TIMEOUT": (1.0, 1.0),
                              "HTTP_BODY_DEADLINE": 1.0}
    provider = make_provider(profile_url=f"{dribbling_server}/user")
    add_token_response(mock_http, provider)
    mock_http.add_passthru(dribbling_server)
    started = time.monotonic()

    response = start_flow(provider).callback(code="code-1")

    assert_error(response, 504, "provider_timeout", type_="server_error")
    assert time.monotonic() - started < 5
    assert_nothing_stored()
