"""Tests of bad client input to authorize and callback.

Every case must get a 4xx response in the error envelope with a stable code,
never a 500. It must also leave nothing behind: no HTTP request to the
provider, no account, no user. A flow started before the bad request must
stay unused.
"""

import json
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from allaccess_api.flows import hash_state
from allaccess_api.models import AccountAccess, PendingAuthorization
from allaccess_api.pkce import make_verifier, s256_challenge
from tests.conftest import REDIRECT_URI, add_profile_response, add_token_response, make_provider, strip_detail

VERIFIER = make_verifier()
CHALLENGE = s256_challenge(VERIFIER)
# Well-formed like a real state, but never issued.
UNKNOWN_STATE = "Zm9yZ2VkLXN0YXRlLXRoYXQtd2FzLW5ldmVyLWlzc3VlZA"
MEGABYTE = 1024 * 1024
# Placeholder for bytes that json.dumps cannot write. encode() puts the bytes in its place.
RAW_BYTES_MARKER = "@@raw-bytes@@"
# UTF-8 style encoding of the lone surrogate U+D800, which is invalid UTF-8.
SURROGATE_BYTES = b"\xed\xa0\x80"

AUTHORIZE_URL = "/api/v1/providers/example/authorize/"
CALLBACK_URL = "/api/v1/providers/example/callback/"
ENDPOINTS = [pytest.param(AUTHORIZE_URL, id="authorize"), pytest.param(CALLBACK_URL, id="callback")]


@pytest.fixture
def api_client(api_client):
    """The shared client, returning a server error as a 500 response instead of raising it."""
    api_client.raise_request_exception = False
    return api_client


@pytest.fixture(autouse=True)
def open_flow(provider, start_flow, mock_http):
    """Start a flow before each bad request. ``mock_http`` is active, so any provider call fails."""
    return start_flow(provider)


def authorize_body(**fields):
    return {"redirect_uri": REDIRECT_URI, "code_challenge": CHALLENGE, "scope": ["read:user"], **fields}


def callback_body(**fields):
    return {"state": UNKNOWN_STATE, "code": "SplxlOBeZQQYbYS6WxSbIA", "code_verifier": VERIFIER, **fields}


def valid_body(url):
    return authorize_body() if url == AUTHORIZE_URL else callback_body()


def encode(body):
    """Encode ``body`` as UTF-8 JSON, escaping only what UTF-8 cannot carry (lone surrogates)."""
    try:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        data = json.dumps(body).encode("ascii")
    return data.replace(RAW_BYTES_MARKER.encode(), SURROGATE_BYTES)


def post(client, url, body, content_type="application/json", **headers):
    data = body if isinstance(body, bytes) else encode(body)
    return client.generic("POST", url, data, content_type=content_type, **headers)


def validation_error(code, attr):
    return {"type": "validation_error", "errors": [{"code": code, "attr": attr}]}


def client_error(code):
    return {"type": "client_error", "errors": [{"code": code, "attr": None}]}


def assert_error(response, status, expected):
    """Check the status and the whole error envelope. ``expected`` leaves out the ``detail`` texts."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"type", "errors"}
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
        assert isinstance(error["detail"], str)
        assert error["detail"].strip() != ""
    assert strip_detail(body) == expected


def assert_nothing_stored(open_flow, mock_http):
    assert len(mock_http.calls) == 0
    assert AccountAccess.objects.count() == 0
    assert get_user_model().objects.count() == 0
    pending = PendingAuthorization.objects.get()
    assert pending.state_hash == hash_state(open_flow.state)
    assert pending.used_at is None


# Malformed JSON

MALFORMED_JSON = [
    pytest.param(b'{"state": ', id="truncated"),
    pytest.param(b"{state: 1}", id="unquoted-key"),
    pytest.param(b"{'state': 'x'}", id="single-quotes"),
    pytest.param(b'{"state": "x",}', id="trailing-comma"),
    pytest.param(b'{"state": "x"} {"code": "y"}', id="two-documents"),
    pytest.param(b"state=x&code=y", id="form-text"),
    pytest.param(b'{"state": NaN}', id="nan"),
    pytest.param(b'{"state": -Infinity}', id="infinity"),
    pytest.param(b'{"state": ' + b"9" * 5000 + b"}", id="5000-digit-number"),
    pytest.param(b'{"state": "\xff\xfe"}', id="invalid-utf-8"),
    pytest.param(b'{"state": "' + SURROGATE_BYTES + b'"}', id="surrogate-bytes"),
    pytest.param(b'{"state": "\x00"}', id="raw-nul-byte"),
]

@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("body", MALFORMED_JSON)
def test_malformed_json_gives_parse_error(api_client, open_flow, mock_http, url, body):
    response = post(api_client, url, body)

    assert_error(response, 400, client_error("parse_error"))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-lists"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="nested-objects"),
    ],
)
def test_deeply_nested_json_gives_parse_error(api_client, open_flow, mock_http, url, body):
    response = post(api_client, url, body)

    assert_error(response, 400, client_error("parse_error"))
    assert_nothing_stored(open_flow, mock_http)


# JSON that is not an object


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    "body, code",
    [
        pytest.param(b"[]", "invalid", id="empty-list"),
        pytest.param(b'[{"state": "x"}]', "invalid", id="list-of-object"),
        pytest.param(b'"state"', "invalid", id="string"),
        pytest.param(b"42", "invalid", id="integer"),
        pytest.param(b"1.5", "invalid", id="float"),
        pytest.param(b"true", "invalid", id="boolean"),
        pytest.param(b"null", "null", id="null"),
    ],
)
def test_non_object_body_rejected(api_client, open_flow, mock_http, url, body, code):
    response = post(api_client, url, body)

    assert_error(response, 400, validation_error(code, "non_field_errors"))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize(
    "url, attr",
    [pytest.param(AUTHORIZE_URL, "redirect_uri", id="authorize"), pytest.param(CALLBACK_URL, "state", id="callback")],
)
@pytest.mark.parametrize("body", [pytest.param(b"", id="empty-body"), pytest.param(b"{}", id="empty-object")])
def test_empty_body_names_required_field(api_client, open_flow, mock_http, url, attr, body):
    response = post(api_client, url, body)

    assert_error(response, 400, validation_error("required", attr))
    assert_nothing_stored(open_flow, mock_http)


# Wrong types


@pytest.mark.parametrize(
    "field, value, code, attr",
    [
        pytest.param("redirect_uri", True, "invalid", "redirect_uri", id="redirect_uri-boolean"),
        pytest.param("redirect_uri", [REDIRECT_URI], "invalid", "redirect_uri", id="redirect_uri-list"),
        pytest.param("redirect_uri", {"uri": REDIRECT_URI}, "invalid", "redirect_uri", id="redirect_uri-object"),
        pytest.param("redirect_uri", None, "null", "redirect_uri", id="redirect_uri-null"),
        pytest.param("redirect_uri", 12345, "redirect_uri_not_allowed", "redirect_uri", id="redirect_uri-integer"),
        pytest.param("redirect_uri", 1.5, "redirect_uri_not_allowed", "redirect_uri", id="redirect_uri-float"),
        pytest.param("redirect_uri", "", "blank", "redirect_uri", id="redirect_uri-empty"),
        pytest.param("code_challenge", False, "invalid", "code_challenge", id="code_challenge-boolean"),
        pytest.param("code_challenge", [CHALLENGE], "invalid", "code_challenge", id="code_challenge-list"),
        pytest.param("code_challenge", {}, "invalid", "code_challenge", id="code_challenge-object"),
        pytest.param("code_challenge", None, "null", "code_challenge", id="code_challenge-null"),
        pytest.param("code_challenge", 12345, "invalid_code_challenge", "code_challenge", id="code_challenge-integer"),
        pytest.param("code_challenge", "", "blank", "code_challenge", id="code_challenge-empty"),
        pytest.param("code_challenge_method", True, "invalid", "code_challenge_method", id="method-boolean"),
        pytest.param("code_challenge_method", ["S256"], "invalid", "code_challenge_method", id="method-list"),
        pytest.param("code_challenge_method", {"S256": 1}, "invalid", "code_challenge_method", id="method-object"),
        pytest.param("code_challenge_method", None, "null", "code_challenge_method", id="method-null"),
        pytest.param("code_challenge_method", 256, "invalid_code_challenge", "code_challenge_method",
                     id="method-integer"),
        pytest.param("code_challenge_method", "plain", "invalid_code_challenge", "code_challenge_method",
                     id="method-plain"),
        pytest.param("scope", "read:user", "not_a_list", "scope", id="scope-string"),
        pytest.param("scope", 7, "not_a_list", "scope", id="scope-integer"),
        pytest.param("scope", True, "not_a_list", "scope", id="scope-boolean"),
        pytest.param("scope", {"read:user": True}, "not_a_list", "scope", id="scope-object"),
        pytest.param("scope", None, "null", "scope", id="scope-null"),
        pytest.param("scope", [], "empty", "scope", id="scope-empty-list"),
        pytest.param("scope", [True], "invalid", "scope.0", id="scope-item-boolean"),
        pytest.param("scope", [None], "null", "scope.0", id="scope-item-null"),
        pytest.param("scope", [["read:user"]], "invalid", "scope.0", id="scope-item-list"),
        pytest.param("scope", ["read:user", {"a": 1}], "invalid", "scope.1", id="scope-item-object"),
        pytest.param("scope", ["read user"], "invalid", "scope", id="scope-item-with-space"),
    ],
)
def test_authorize_wrong_type_rejected(api_client, open_flow, mock_http, field, value, code, attr):
    response = post(api_client, AUTHORIZE_URL, authorize_body(**{field: value}))

    assert_error(response, 400, validation_error(code, attr))
    assert_nothing_stored(open_flow, mock_http)


CALLBACK_FIELDS = ["state", "code", "code_verifier", "error", "error_description"]


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
@pytest.mark.parametrize(
    "value, code",
    [
        pytest.param(True, "invalid", id="boolean-true"),
        pytest.param(False, "invalid", id="boolean-false"),
        pytest.param([], "invalid", id="empty-list"),
        pytest.param(["x"], "invalid", id="list"),
        pytest.param({}, "invalid", id="empty-object"),
        pytest.param({"value": "x"}, "invalid", id="object"),
        pytest.param(None, "null", id="null"),
    ],
)
def test_callback_wrong_type_rejected(api_client, open_flow, mock_http, field, value, code):
    response = post(api_client, CALLBACK_URL, callback_body(**{field: value}))

    assert_error(response, 400, validation_error(code, field))
    assert_nothing_stored(open_flow, mock_http)


def expected_text_error(field):
    """Text that is not a PKCE verifier fails validation; in other fields it reaches the state check."""
    if field == "code_verifier":
        return validation_error("invalid", "code_verifier")
    return client_error("invalid_state")


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
@pytest.mark.parametrize("value", [pytest.param(0, id="zero"), pytest.param(12345, id="integer"),
                                   pytest.param(-1.5, id="float")])
def test_callback_number_read_as_text(api_client, open_flow, mock_http, field, value):
    response = post(api_client, CALLBACK_URL, callback_body(**{field: value}))

    assert_error(response, 400, expected_text_error(field))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("field", ["state", "code", "code_verifier", "error"])
def test_callback_empty_string_rejected(api_client, open_flow, mock_http, field):
    response = post(api_client, CALLBACK_URL, callback_body(**{field: ""}))

    assert_error(response, 400, validation_error("blank", field))
    assert_nothing_stored(open_flow, mock_http)


def test_callback_without_code_or_error_rejected(api_client, open_flow, mock_http):
    response = post(api_client, CALLBACK_URL, {"state": UNKNOWN_STATE, "code_verifier": VERIFIER})

    assert_error(response, 400, validation_error("required", "code"))
    assert_nothing_stored(open_flow, mock_http)


# Huge input


@pytest.mark.parametrize(
    "url, fields, attr",
    [
        pytest.param(AUTHORIZE_URL, {"redirect_uri": "https://spa.example/" + "a" * MEGABYTE}, "redirect_uri",
                     id="authorize-redirect_uri"),
        pytest.param(AUTHORIZE_URL, {"code_challenge": "a" * MEGABYTE}, "code_challenge",
                     id="authorize-code_challenge"),
        pytest.param(AUTHORIZE_URL, {"code_challenge_method": "S" * MEGABYTE}, "code_challenge_method",
                     id="authorize-code_challenge_method"),
        pytest.param(AUTHORIZE_URL, {"scope": [f"scope{number}" for number in range(10_000)]}, "scope",
                     id="authorize-10000-scopes"),
        pytest.param(AUTHORIZE_URL, {"scope": ["a" * MEGABYTE]}, "scope.0", id="authorize-scope-item"),
        pytest.param(CALLBACK_URL, {"state": "a" * MEGABYTE}, "state", id="callback-state"),
        pytest.param(CALLBACK_URL, {"code": "a" * MEGABYTE}, "code", id="callback-code"),
        pytest.param(CALLBACK_URL, {"code_verifier": "a" * MEGABYTE}, "code_verifier", id="callback-code_verifier"),
        pytest.param(CALLBACK_URL, {"error": "a" * MEGABYTE}, "error", id="callback-error"),
        pytest.param(CALLBACK_URL, {"error": "access_denied", "error_description": "a" * MEGABYTE},
                     "error_description", id="callback-error_description"),
    ],
)
def test_huge_value_rejected(api_client, open_flow, mock_http, url, fields, attr):
    body = authorize_body(**fields) if url == AUTHORIZE_URL else callback_body(**fields)

    response = post(api_client, url, body)

    assert_error(response, 400, validation_error("max_length", attr))
    assert len(response.content) < 1000
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_body_over_upload_limit_gives_413(api_client, open_flow, mock_http, settings, url):
    body = encode({"state": "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "code": "x"})

    response = post(api_client, url, body)

    assert_error(response, 413, client_error("request_too_large"))
    assert_nothing_stored(open_flow, mock_http)


# Unknown provider names

UNKNOWN_NAMES = [
    pytest.param("nope", id="ascii"),
    pytest.param("EXAMPLE", id="other-case"),
    pytest.param("exämple", id="latin-accent"),
    pytest.param("例え", id="cjk"),
    pytest.param("\u202eelpmaxe", id="rtl-override"),
    pytest.param("\U0001f511", id="emoji"),
    pytest.param("e\u0301xample", id="combining-accent"),
    pytest.param("example\u0000", id="nul"),
    pytest.param("example ", id="trailing-space"),
    pytest.param("%65xample", id="double-percent-encoded"),
    pytest.param("..", id="dot-dot"),
    pytest.param("a" * 10_000, id="very-long"),
]


@pytest.mark.parametrize("endpoint", ["authorize", "callback"])
@pytest.mark.parametrize("name", UNKNOWN_NAMES)
def test_unknown_provider_not_found(api_client, open_flow, mock_http, endpoint, name):
    url = f"/api/v1/providers/{quote(name, safe='')}/{endpoint}/"

    response = post(api_client, url, authorize_body() if endpoint == "authorize" else callback_body())

    assert_error(response, 404, client_error("provider_not_found"))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("endpoint", ["authorize", "callback"])
def test_disabled_provider_not_found(api_client, open_flow, mock_http, endpoint):
    make_provider("disabled", enabled=False)

    response = post(api_client, f"/api/v1/providers/disabled/{endpoint}/",
                    authorize_body() if endpoint == "authorize" else callback_body())

    assert_error(response, 404, client_error("provider_not_found"))
    assert_nothing_stored(open_flow, mock_http)


def test_unroutable_provider_name_gives_404(api_client, open_flow, mock_http):
    response = post(api_client, "/api/v1/providers/a%2Fb/authorize/", authorize_body())

    assert response.status_code == 404
    assert_nothing_stored(open_flow, mock_http)


def test_unroutable_provider_name_gives_envelope(api_client, open_flow, mock_http):
    response = post(api_client, "/api/v1/providers/a%2Fb/authorize/", authorize_body())

    assert_error(response, 404, client_error("not_found"))


# Unicode in every field

TEXT_VALUES = [
    pytest.param("\u202egnp.exe\u202c", id="rtl-override"),
    pytest.param("\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627", id="rtl-text"),
    pytest.param("\U0001f511\U0001f680\U0001f468\u200d\U0001f469\u200d\U0001f467", id="emoji"),
    pytest.param("e\u0301\u0308\u0327\u20dd", id="combining-marks"),
    pytest.param("a\u200bb\ufeff", id="zero-width"),
]

AUTHORIZE_TEXT_ERRORS = {
    "redirect_uri": ("redirect_uri_not_allowed", "redirect_uri"),
    "code_challenge": ("invalid_code_challenge", "code_challenge"),
    "code_challenge_method": ("invalid_code_challenge", "code_challenge_method"),
    "scope": ("invalid", "scope"),
}


def authorize_value(field, value):
    """Put ``value`` where ``field`` expects it: as the only item of ``scope``, else as the field."""
    return [value] if field == "scope" else value


def item_attr(field):
    return "scope.0" if field == "scope" else field


@pytest.mark.parametrize("field", list(AUTHORIZE_TEXT_ERRORS))
@pytest.mark.parametrize("value", TEXT_VALUES)
def test_authorize_unicode_text_rejected(api_client, open_flow, mock_http, field, value):
    code, attr = AUTHORIZE_TEXT_ERRORS[field]

    response = post(api_client, AUTHORIZE_URL, authorize_body(**{field: authorize_value(field, value)}))

    assert_error(response, 400, validation_error(code, attr))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
@pytest.mark.parametrize("value", TEXT_VALUES)
def test_callback_unicode_text_reaches_state_check(api_client, open_flow, mock_http, field, value):
    response = post(api_client, CALLBACK_URL, callback_body(**{field: value}))

    assert_error(response, 400, expected_text_error(field))
    assert_nothing_stored(open_flow, mock_http)


CONTROL_VALUES = [
    pytest.param("a\u0000b", "null_characters_not_allowed", id="nul"),
    pytest.param("\ud800", "surrogate_characters_not_allowed", id="lone-high-surrogate"),
    pytest.param("x\udfff", "surrogate_characters_not_allowed", id="lone-low-surrogate"),
    pytest.param("\udc00\ud800", "surrogate_characters_not_allowed", id="reversed-surrogate-pair"),
]


@pytest.mark.parametrize("field", list(AUTHORIZE_TEXT_ERRORS))
@pytest.mark.parametrize("value, code", CONTROL_VALUES)
def test_authorize_control_characters_rejected(api_client, open_flow, mock_http, field, value, code):
    response = post(api_client, AUTHORIZE_URL, authorize_body(**{field: authorize_value(field, value)}))

    assert_error(response, 400, validation_error(code, item_attr(field)))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
@pytest.mark.parametrize("value, code", CONTROL_VALUES)
def test_callback_control_characters_rejected(api_client, open_flow, mock_http, field, value, code):
    response = post(api_client, CALLBACK_URL, callback_body(**{field: value}))

    assert_error(response, 400, validation_error(code, field))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("field", list(AUTHORIZE_TEXT_ERRORS))
def test_authorize_surrogate_bytes_give_parse_error(api_client, open_flow, mock_http, field):
    body = authorize_body(**{field: authorize_value(field, RAW_BYTES_MARKER)})

    response = post(api_client, AUTHORIZE_URL, body)

    assert_error(response, 400, client_error("parse_error"))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
def test_callback_surrogate_bytes_give_parse_error(api_client, open_flow, mock_http, field):
    response = post(api_client, CALLBACK_URL, callback_body(**{field: RAW_BYTES_MARKER}))

    assert_error(response, 400, client_error("parse_error"))
    assert_nothing_stored(open_flow, mock_http)


# Rejected before the state is read

REJECTED_CALLBACK_FIELDS = [
    pytest.param({"code": ["x"]}, "invalid", "code", id="code-list"),
    pytest.param({"code": None}, "null", "code", id="code-null"),
    pytest.param({"code": ""}, "blank", "code", id="code-blank"),
    pytest.param({"code": "a\u0000b"}, "null_characters_not_allowed", "code", id="code-nul"),
    pytest.param({"code": "\ud800"}, "surrogate_characters_not_allowed", "code", id="code-surrogate"),
    pytest.param({"code": "a" * MEGABYTE}, "max_length", "code", id="code-huge"),
    pytest.param({"code_verifier": {"v": 1}}, "invalid", "code_verifier", id="verifier-object"),
    pytest.param({"code_verifier": "a" * 129}, "max_length", "code_verifier", id="verifier-129-characters"),
    pytest.param({"error": True}, "invalid", "error", id="error-boolean"),
    pytest.param({"error": "access_denied", "error_description": "\u0000"}, "null_characters_not_allowed",
                 "error_description", id="error_description-nul"),
]


@pytest.mark.parametrize("fields, code, attr", REJECTED_CALLBACK_FIELDS)
def test_callback_rejects_before_reading_state(api_client, open_flow, mock_http, fields, code, attr):
    response = post(api_client, CALLBACK_URL, callback_body(state=open_flow.state, **fields))

    assert_error(response, 400, validation_error(code, attr))
    assert_nothing_stored(open_flow, mock_http)


def test_state_still_works_after_rejected_callback(api_client, open_flow, mock_http, provider):
    post(api_client, CALLBACK_URL, callback_body(state=open_flow.state, code=["x"]))
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = open_flow.callback(code="SplxlOBeZQQYbYS6WxSbIA")

    assert response.status_code == 200
    assert response.json()["account"]["identifier"] == "583231"


# Content types and methods


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param(b"state=x&code=y", "application/x-www-form-urlencoded", id="form-urlencoded"),
        pytest.param(b'--b\r\nContent-Disposition: form-data; name="state"\r\n\r\nx\r\n--b--\r\n',
                     "multipart/form-data; boundary=b", id="multipart"),
        pytest.param(b'{"state": "x", "code": "y"}', "text/plain", id="text-plain"),
        pytest.param(b'{"state": "x", "code": "y"}', "text/json", id="text-json"),
        pytest.param(b"<state>x</state>", "application/xml", id="xml"),
        pytest.param(b'{"state": "x", "code": "y"}', "application/octet-stream", id="octet-stream"),
    ],
)
def test_wrong_content_type_gives_415(api_client, open_flow, mock_http, url, body, content_type):
    response = post(api_client, url, body, content_type=content_type)

    assert_error(response, 415, client_error("unsupported_media_type"))
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", AUTHORIZE_URL),
        ("PUT", AUTHORIZE_URL),
        ("PATCH", AUTHORIZE_URL),
        ("DELETE", AUTHORIZE_URL),
        ("GET", CALLBACK_URL),
        ("PUT", CALLBACK_URL),
        ("PATCH", CALLBACK_URL),
        ("DELETE", CALLBACK_URL),
        ("GET", "/api/v1/auth/refresh/"),
        ("GET", "/api/v1/auth/logout/"),
        ("POST", "/api/v1/providers/"),
        ("POST", "/api/v1/providers/example/"),
    ],
)
def test_wrong_method_gives_405(api_client, open_flow, mock_http, method, url):
    response = api_client.generic(method, url, encode(valid_body(url)), content_type="application/json")

    assert_error(response, 405, client_error("method_not_allowed"))
    assert_nothing_stored(open_flow, mock_http)


# Authorization header

@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer", id="no-token"),
        pytest.param("Bearer a b", id="two-tokens"),
        pytest.param("Bearer not.a.jwt", id="not-a-jwt"),
        pytest.param("Bearer " + "a" * 100_000, id="huge-token"),
        pytest.param("Bearer \u00e9\u00e8", id="latin-1-token"),
    ],
)
def test_bad_bearer_header_gives_401(api_client, open_flow, mock_http, header):
    response = post(api_client, AUTHORIZE_URL, authorize_body(), HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert_nothing_stored(open_flow, mock_http)


@pytest.mark.parametrize(
    "header, code",
    [
        pytest.param("Bearer", "bad_authorization_header", id="no-token"),
        pytest.param("Bearer not.a.jwt", "token_not_valid", id="not-a-jwt"),
    ],
)
def test_bad_bearer_header_gives_one_error(api_client, open_flow, mock_http, header, code):
    response = post(api_client, AUTHORIZE_URL, authorize_body(), HTTP_AUTHORIZATION=header)

    assert_error(response, 401, client_error(code))


def test_too_many_query_parameters_gives_400(api_client, db):
    query = "&".join(f"a{number}=1" for number in range(1500))

    response = api_client.get(f"/api/v1/providers/?{query}")

    assert response.status_code == 400
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "bad_request", "attr": None}]}


def test_post_without_trailing_slash_gives_json_404(api_client, db):
    response = api_client.post("/api/v1/providers/example/authorize", {}, format="json")

    assert response.status_code == 404
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "not_found", "attr": None}]}


def test_unrouted_api_path_gives_json_404_in_debug(client, settings, db):
    settings.DEBUG = True

    response = client.get("/api/v1/nothing/here/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "not_found", "attr": None}]}


def test_disallowed_host_gives_json_400(client, db):
    response = client.get("/api/v1/providers/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert strip_detail(response.json()) == {"type": "client_error",
                                             "errors": [{"code": "bad_request", "attr": None}]}
