"""End-to-end tests of the local OpenID Connect provider and of the harness that drives it.

These tests start ``demo.provider`` in a subprocess and talk to it over HTTP on 127.0.0.1.
They use no Django database of the product.

Assertions avoid showing token or code values: tests compare keys, pop secrets out of
dicts before asserting on the rest, and compare secrets through booleans.
"""

import base64
import json
import os
import secrets
import socket
import threading
from urllib.parse import urlsplit
from unittest import mock

import pytest
import requests
from jwcrypto import jwk, jwt
from oauthlib.oauth2 import WebApplicationClient

from .conftest import HARNESS_MOBILE_REDIRECT_URI, HARNESS_SPA_REDIRECT_URI
from .provider import (
    RunningProvider,
    SignInError,
    new_session,
    sign_in_and_consent,
)

SPA_REDIRECT_URI = HARNESS_SPA_REDIRECT_URI
MOBILE_REDIRECT_URI = HARNESS_MOBILE_REDIRECT_URI
SCOPES = ["openid", "profile", "email", "read"]
USER_CLAIMS = ["given_name", "family_name", "name", "email", "email_verified", "preferred_username"]
DISCOVERY_PATH = "/o/.well-known/openid-configuration"
TIMEOUT_SECONDS = 10


pytestmark = pytest.mark.e2e


@pytest.fixture
def session():
    with new_session() as http_session:
        yield http_session


class AuthorizationRequest:
    """Authorization URL with PKCE S256, plus the values the client keeps for the callback."""

    def __init__(self, provider: RunningProvider, redirect_uri: str = SPA_REDIRECT_URI, *, pkce: bool = True):
        self.client = WebApplicationClient(provider.client_id)
        self.redirect_uri = redirect_uri
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.code_verifier = self.client.create_code_verifier(64)
        pkce_parameters = {}
        if pkce:
            pkce_parameters = {
                "code_challenge": self.client.create_code_challenge(self.code_verifier, "S256"),
                "code_challenge_method": "S256",
            }
        # oauthlib's client rejects http:// endpoints unless this variable is set. The patch
        # keeps it from leaking into other tests.
        with mock.patch.dict(os.environ, {"OAUTHLIB_INSECURE_TRANSPORT": "1"}):
            self.url = self.client.prepare_request_uri(
                provider.authorization_url,
                redirect_uri=redirect_uri,
                scope=SCOPES,
                state=self.state,
                nonce=self.nonce,
                **pkce_parameters,
            )


def authorize(
    provider: RunningProvider, redirect_uri: str = SPA_REDIRECT_URI
) -> tuple[AuthorizationRequest, str]:
    """Run the browser part of the flow and return the request and the authorization code."""
    request = AuthorizationRequest(provider, redirect_uri)
    parameters = sign_in_and_consent(provider, request.url, redirect_uri)
    assert "code" in parameters.keys(), f"no code in redirect; parameters: {sorted(parameters)}"
    return request, parameters["code"]


def exchange_code(
    provider: RunningProvider,
    session: requests.Session,
    request: AuthorizationRequest,
    code: str,
    *,
    client_authentication: str = "basic",
    code_verifier: str | None = None,
    client_secret: str | None = None,
) -> requests.Response:
    """POST the authorization code to the token endpoint and return the raw response."""
    secret = provider.client_secret if client_secret is None else client_secret
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
    }
    verifier = request.code_verifier if code_verifier is None else code_verifier
    if verifier:
        form["code_verifier"] = verifier
    if client_authentication == "basic":
        return session.post(
            provider.token_url,
            data=form,
            auth=(provider.client_id, secret),
            timeout=TIMEOUT_SECONDS,
        )
    form.update(client_id=provider.client_id, client_secret=secret)
    return session.post(provider.token_url, data=form, timeout=TIMEOUT_SECONDS)


def fetch_tokens(provider: RunningProvider, session: requests.Session) -> dict:
    request, code = authorize(provider)
    response = exchange_code(provider, session, request, code)
    assert response.status_code == 200, response.text
    return response.json()


def verify_id_token(provider: RunningProvider, session: requests.Session, id_token: str) -> dict:
    """Check the ID token's RS256 signature against the provider's JWKS and return its claims."""
    jwks = session.get(provider.jwks_url, timeout=TIMEOUT_SECONDS)
    assert jwks.status_code == 200
    key_set = jwk.JWKSet.from_json(jwks.text)
    token = jwt.JWT(jwt=id_token, key=key_set, algs=["RS256"], expected_type="JWS")
    return json.loads(token.claims)


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@pytest.fixture(scope="module")
def tokens(oidc_server) -> dict:
    """Token response of one authorization-code flow, shared by the read-only tests."""
    with new_session() as http_session:
        return fetch_tokens(oidc_server, http_session)


def test_discovery_document(oidc_server, session):
    response = session.get(oidc_server.base_url + DISCOVERY_PATH, timeout=TIMEOUT_SECONDS)

    assert response.status_code == 200
    discovery = response.json()
    assert discovery["issuer"] == f"{oidc_server.base_url}/o"
    assert discovery["issuer"] == oidc_server.issuer
    assert discovery["authorization_endpoint"] == oidc_server.authorization_url
    assert discovery["token_endpoint"] == oidc_server.token_url
    assert discovery["userinfo_endpoint"] == oidc_server.userinfo_url
    assert discovery["jwks_uri"] == oidc_server.jwks_url
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["response_types_supported"] == ["code"]
    assert discovery["authorization_response_iss_parameter_supported"] is True
    for claim in ["sub", *USER_CLAIMS]:
        assert claim in discovery["claims_supported"]


def test_jwks_contains_rsa_signing_key(oidc_server, session):
    response = session.get(oidc_server.jwks_url, timeout=TIMEOUT_SECONDS)

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["use"] == "sig"
    assert keys[0]["kid"]
    assert "d" not in keys[0], "JWKS must not publish the private exponent"


def test_provider_urls_are_loopback(oidc_server):
    assert oidc_server.base_url.startswith("http://127.0.0.1:")
    for url in (
        oidc_server.authorization_url,
        oidc_server.token_url,
        oidc_server.userinfo_url,
        oidc_server.jwks_url,
        oidc_server.revocation_url,
    ):
        assert url.startswith(oidc_server.base_url + "/o/")


def test_code_flow_basic_auth(oidc_server, session):
    request = AuthorizationRequest(oidc_server)

    parameters = sign_in_and_consent(oidc_server, request.url, SPA_REDIRECT_URI)
    code = parameters.pop("code", None)

    assert code, f"no code in redirect; other parameters: {parameters}"
    assert parameters["state"] == request.state
    assert parameters["iss"] == oidc_server.issuer

    response = exchange_code(oidc_server, session, request, code, client_authentication="basic")

    assert response.status_code == 200, response.text
    token_response = response.json()
    assert {"access_token", "refresh_token", "id_token", "token_type", "expires_in"} <= token_response.keys()
    assert token_response["token_type"] == "Bearer"
    assert 0 < token_response["expires_in"] <= 300
    assert set(token_response["scope"].split()) == set(SCOPES)
    claims = verify_id_token(oidc_server, session, token_response["id_token"])
    assert claims["nonce"] == request.nonce


def test_id_token_claims(oidc_server, session, tokens):
    claims = verify_id_token(oidc_server, session, tokens["id_token"])

    assert claims["iss"] == oidc_server.issuer
    assert claims["aud"] == oidc_server.client_id
    assert claims["sub"]
    assert claims["given_name"] == oidc_server.given_name
    assert claims["family_name"] == oidc_server.family_name
    assert claims["name"] == f"{oidc_server.given_name} {oidc_server.family_name}"
    assert claims["preferred_username"] == oidc_server.username
    assert claims["email"] == oidc_server.email
    assert claims["email_verified"] is True
    assert claims["exp"] > claims["iat"]


def test_id_token_header_names_jwks_key(oidc_server, session, tokens):
    header_segment = tokens["id_token"].split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    jwks = session.get(oidc_server.jwks_url, timeout=TIMEOUT_SECONDS).json()

    assert header["alg"] == "RS256"
    assert header["kid"] == jwks["keys"][0]["kid"]


def test_userinfo_with_bearer_token(oidc_server, session, tokens):
    id_token_claims = verify_id_token(oidc_server, session, tokens["id_token"])

    response = session.get(
        oidc_server.userinfo_url, headers=bearer(tokens["access_token"]), timeout=TIMEOUT_SECONDS
    )

    assert response.status_code == 200, response.text
    userinfo = response.json()
    assert userinfo["sub"] == id_token_claims["sub"]
    assert userinfo["email"] == oidc_server.email
    assert userinfo["email_verified"] is True
    assert userinfo["given_name"] == oidc_server.given_name
    assert userinfo["family_name"] == oidc_server.family_name
    assert userinfo["preferred_username"] == oidc_server.username


def test_userinfo_rejects_missing_token(oidc_server, session):
    response = session.get(oidc_server.userinfo_url, timeout=TIMEOUT_SECONDS)

    assert response.status_code == 401


def test_code_exchange_client_secret_post(oidc_server, session):
    request, code = authorize(oidc_server)

    response = exchange_code(oidc_server, session, request, code, client_authentication="post")

    assert response.status_code == 200, response.text
    assert {"access_token", "refresh_token", "id_token"} <= response.json().keys()
    assert response.json()["token_type"] == "Bearer"


def test_code_exchange_rejects_wrong_secret(oidc_server, session):
    request, code = authorize(oidc_server)

    response = exchange_code(oidc_server, session, request, code, client_secret="not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_code_exchange_rejects_wrong_verifier(oidc_server, session):
    request, code = authorize(oidc_server)
    wrong_verifier = request.client.create_code_verifier(64)

    response = exchange_code(oidc_server, session, request, code, code_verifier=wrong_verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_exchange_requires_verifier(oidc_server, session):
    request, code = authorize(oidc_server)

    response = exchange_code(oidc_server, session, request, code, code_verifier="")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_code_is_single_use(oidc_server, session):
    request, code = authorize(oidc_server)
    first = exchange_code(oidc_server, session, request, code)

    second = exchange_code(oidc_server, session, request, code)

    assert first.status_code == 200, first.text
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_authorization_requires_pkce(oidc_server):
    request = AuthorizationRequest(oidc_server, pkce=False)

    parameters = sign_in_and_consent(oidc_server, request.url, SPA_REDIRECT_URI)

    assert "code" not in parameters.keys()
    assert parameters["error"] == "invalid_request"
    assert parameters["state"] == request.state


def test_denied_consent_returns_access_denied(oidc_server):
    request = AuthorizationRequest(oidc_server)

    parameters = sign_in_and_consent(oidc_server, request.url, SPA_REDIRECT_URI, allow=False)

    assert "code" not in parameters.keys()
    assert parameters["error"] == "access_denied"
    assert parameters["state"] == request.state


def test_custom_scheme_redirect(oidc_server, session):
    request, code = authorize(oidc_server, MOBILE_REDIRECT_URI)

    response = exchange_code(oidc_server, session, request, code)

    assert response.status_code == 200, response.text


def test_signed_in_session_skips_login(oidc_server, session):
    first = AuthorizationRequest(oidc_server)
    sign_in_and_consent(oidc_server, first.url, SPA_REDIRECT_URI, session=session)
    second = AuthorizationRequest(oidc_server)

    # A wrong password proves that the second round does not post the login form.
    parameters = sign_in_and_consent(
        oidc_server, second.url, SPA_REDIRECT_URI, password="wrong", session=session
    )

    assert "code" in parameters.keys()
    assert parameters["state"] == second.state


def test_wrong_password_raises(oidc_server):
    request = AuthorizationRequest(oidc_server)

    with pytest.raises(SignInError, match="login form again"):
        sign_in_and_consent(oidc_server, request.url, SPA_REDIRECT_URI, password="wrong-password")


def test_unregistered_redirect_uri_raises(oidc_server):
    request = AuthorizationRequest(oidc_server, "http://localhost:5173/not-registered")

    with pytest.raises(SignInError, match="HTTP 400"):
        sign_in_and_consent(oidc_server, request.url, "http://localhost:5173/not-registered")


def test_sign_in_rejects_foreign_host(oidc_server):
    with pytest.raises(SignInError, match="rejected"):
        sign_in_and_consent(oidc_server, "http://localhost:9/o/authorize/", SPA_REDIRECT_URI)


def test_sign_in_rejects_proxy_session(oidc_server):
    with requests.Session() as proxied_session:
        with pytest.raises(ValueError, match="trust_env"):
            sign_in_and_consent(
                oidc_server, oidc_server.authorization_url, SPA_REDIRECT_URI, session=proxied_session
            )


def test_refresh_token_rotation(oidc_server, session):
    first = fetch_tokens(oidc_server, session)

    refreshed = session.post(
        oidc_server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(oidc_server.client_id, oidc_server.client_secret),
        timeout=TIMEOUT_SECONDS,
    )
    reused = session.post(
        oidc_server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(oidc_server.client_id, oidc_server.client_secret),
        timeout=TIMEOUT_SECONDS,
    )

    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert {"access_token", "refresh_token"} <= second.keys()
    refresh_token_rotated = second["refresh_token"] != first["refresh_token"]
    assert refresh_token_rotated
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_revoked_access_token_rejected(oidc_server, session):
    issued = fetch_tokens(oidc_server, session)

    revocation = session.post(
        oidc_server.revocation_url,
        data={"token": issued["access_token"], "token_type_hint": "access_token"},
        auth=(oidc_server.client_id, oidc_server.client_secret),
        timeout=TIMEOUT_SECONDS,
    )
    userinfo = session.get(
        oidc_server.userinfo_url, headers=bearer(issued["access_token"]), timeout=TIMEOUT_SECONDS
    )

    assert revocation.status_code == 200, revocation.text
    assert userinfo.status_code == 401


def test_echo_returns_post_request(oidc_server, session, tokens):
    body = json.dumps({"greeting": "hello", "count": 2})

    response = session.post(
        f"{oidc_server.base_url}/api/echo/items/42",
        params=[("tag", "a"), ("tag", "b"), ("page", "1")],
        data=body,
        headers={
            **bearer(tokens["access_token"]),
            "Content-Type": "application/json",
            "X-Request-Id": "req-1",
        },
        timeout=TIMEOUT_SECONDS,
    )

    assert response.status_code == 200, response.text
    echoed = response.json()
    headers = echoed["headers"]
    authorization_echoed = headers.pop("Authorization", None) == f"Bearer {tokens['access_token']}"
    assert authorization_echoed, "echo did not return the Authorization header it received"
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/api/echo/items/42"
    assert echoed["query"] == {"tag": ["a", "b"], "page": ["1"]}
    assert echoed["body"] == body
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Request-Id"] == "req-1"
    assert echoed["user"] == oidc_server.username


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_echo_accepts_method(oidc_server, session, tokens, method):
    response = session.request(
        method,
        f"{oidc_server.base_url}/api/echo/",
        data="payload" if method != "GET" else None,
        headers=bearer(tokens["access_token"]),
        timeout=TIMEOUT_SECONDS,
    )

    assert response.status_code == 200, response.text
    assert response.json()["method"] == method
    assert response.json()["path"] == "/api/echo/"


def test_echo_rejects_missing_token(oidc_server, session):
    response = session.post(f"{oidc_server.base_url}/api/echo/", data="{}", timeout=TIMEOUT_SECONDS)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_echo_rejects_invalid_token(oidc_server, session):
    response = session.get(
        f"{oidc_server.base_url}/api/echo/", headers=bearer("not-a-token"), timeout=TIMEOUT_SECONDS
    )

    assert response.status_code == 401


def test_concurrent_requests(oidc_server):
    request_count = 8
    status_codes: list[int] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def fetch_discovery() -> None:
        try:
            with new_session() as thread_session:
                response = thread_session.get(oidc_server.base_url + DISCOVERY_PATH, timeout=TIMEOUT_SECONDS)
            with lock:
                status_codes.append(response.status_code)
        except requests.RequestException as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=fetch_discovery) for _ in range(request_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)

    assert errors == []
    assert status_codes == [200] * request_count


def test_server_responds_during_stalled_request(oidc_server, session):
    server_url = urlsplit(oidc_server.base_url)
    server_address = (server_url.hostname, server_url.port)

    # An incomplete request keeps one handler thread waiting for the rest of its headers.
    with socket.create_connection(server_address, timeout=TIMEOUT_SECONDS) as stalled:
        stalled.sendall(b"GET /o/.well-known/jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        response = session.get(oidc_server.base_url + DISCOVERY_PATH, timeout=5)

    assert response.status_code == 200
