"""ID token validation, JWKS caching and RFC 9207 ``iss`` checks, through the callback endpoint."""

import io
import logging
import time

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from allaccess_api.models import AccountAccess, Protocol, Provider
from tests.conftest import CLIENT_SECRET, add_profile_response, add_token_response, make_provider, strip_detail
from tests.idtokens import SigningKey, hmac_token, id_token_claims, jwks, nonce_of, unsigned_token

pytestmark = pytest.mark.django_db
User = get_user_model()

ISSUER = "https://openid.test"
JWKS_URI = "https://openid.test/jwks"


@pytest.fixture
def signing_key():
    return SigningKey("RS256", kid="rsa-1")


@pytest.fixture
def ec_key():
    return SigningKey("ES256", kid="ec-1")


@pytest.fixture
def oidc(db):
    return make_provider(
        "openid",
        protocol=Protocol.OIDC,
        issuer=ISSUER,
        jwks_uri=JWKS_URI,
        id_token_algorithms=["RS256", "ES256"],
        profile_url="https://openid.test/userinfo",
        scope=["openid", "profile", "email"],
    )


@pytest.fixture
def jwks_endpoint(mock_http, signing_key, ec_key):
    return mock_http.add(responses.GET, JWKS_URI, json=jwks(signing_key, ec_key))


def userinfo(subject="user-1"):
    return {"sub": subject, "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.org",
            "email_verified": True}


def sign_in_with(start_flow, provider, mock_http, make_token, *, profile=None, **callback):
    """Run one flow whose token response carries ``make_token(nonce)`` as its ID token."""
    flow = start_flow(provider)
    add_token_response(mock_http, provider, {"access_token": "tok_1", "token_type": "Bearer",
                                             "id_token": make_token(nonce_of(flow))})
    add_profile_response(mock_http, provider, profile or userinfo())
    return flow.callback(code="code-1", **callback)


def assert_error(response, status, code, type_="client_error"):
    assert response.status_code == status, response.json()
    assert strip_detail(response.json()) == {"type": type_, "errors": [{"code": code, "attr": None}]}


def assert_rejected(response, check):
    """The callback failed with invalid_id_token naming ``check``, and nothing was stored."""
    assert_error(response, 400, "invalid_id_token")
    assert response.json()["errors"][0]["detail"].endswith(f"Failed check: {check}.")
    assert not AccountAccess.objects.exists()
    assert not User.objects.exists()


# Valid tokens


def test_valid_rs256_token_signs_in(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http,
                            lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)))

    assert response.status_code == 200, response.json()
    assert response.json()["account"]["identifier"] == "user-1"
    assert response.json()["user"]["email"] == "ada@example.org"


def test_valid_es256_token_signs_in(start_flow, oidc, mock_http, jwks_endpoint, ec_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: ec_key.sign(id_token_claims(oidc, nonce)))

    assert response.status_code == 200, response.json()


def test_expiry_within_leeway_passes(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    expired_a_minute_ago = int(time.time()) - 60

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, exp=expired_a_minute_ago)))

    assert response.status_code == 200, response.json()


def test_azp_equal_to_client_id_passes(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, aud=[oidc.client_id], azp=oidc.client_id)))

    assert response.status_code == 200, response.json()


# Forged or wrong tokens


def test_alg_none_rejected(start_flow, oidc, mock_http, jwks_endpoint):
    response = sign_in_with(start_flow, oidc, mock_http,
                            lambda nonce: unsigned_token(id_token_claims(oidc, nonce), kid="rsa-1"))

    assert_rejected(response, "alg")


def test_other_key_rejected(start_flow, oidc, mock_http, jwks_endpoint):
    impostor = SigningKey("RS256", kid="rsa-1")

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: impostor.sign(id_token_claims(oidc, nonce)))

    assert_rejected(response, "signature")


def test_hs256_with_client_secret_rejected(start_flow, oidc, mock_http, jwks_endpoint):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: hmac_token(
        id_token_claims(oidc, nonce), CLIENT_SECRET.encode(), kid="rsa-1"))

    assert_rejected(response, "alg")


def test_hs256_with_public_key_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    public_pem = signing_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: hmac_token(
        id_token_claims(oidc, nonce), public_pem, kid="rsa-1"))

    assert_rejected(response, "alg")


def test_hs256_rejected_even_when_configured(start_flow, oidc, mock_http, jwks_endpoint):
    # Stored before validation existed or written straight to the database: still never accepted.
    type(oidc).objects.filter(pk=oidc.pk).update(id_token_algorithms=["HS256"])

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: hmac_token(
        id_token_claims(oidc, nonce), CLIENT_SECRET.encode(), kid="rsa-1"))

    assert_rejected(response, "alg")


def test_algorithm_outside_allowed_list_rejected(start_flow, oidc, mock_http, jwks_endpoint, ec_key):
    type(oidc).objects.filter(pk=oidc.pk).update(id_token_algorithms=["RS256"])

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: ec_key.sign(id_token_claims(oidc, nonce)))

    assert_rejected(response, "alg")


def test_wrong_audience_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, aud="another-client")))

    assert_rejected(response, "aud")


def test_extra_untrusted_audience_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, aud=[oidc.client_id, "another-client"], azp=oidc.client_id)))

    assert_rejected(response, "aud")


def test_azp_mismatch_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, azp="another-client")))

    assert_rejected(response, "azp")


def test_wrong_nonce_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce + "x")))

    assert_rejected(response, "nonce")


def test_missing_nonce_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, nonce=None)))

    assert_rejected(response, "nonce")


def test_expired_beyond_leeway_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    expired_three_minutes_ago = int(time.time()) - 180

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, exp=expired_three_minutes_ago)))

    assert_rejected(response, "exp")


def test_missing_iat_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, iat=None)))

    assert_rejected(response, "iat")


def test_missing_exp_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, exp=None)))

    assert_rejected(response, "exp")


def test_wrong_issuer_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce, iss=ISSUER + "/")))

    assert_rejected(response, "iss")


def test_garbage_token_rejected(start_flow, oidc, mock_http, jwks_endpoint):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: "not-a-jwt")

    assert_rejected(response, "malformed")


def test_missing_id_token_rejected(start_flow, oidc, mock_http, jwks_endpoint):
    flow = start_flow(oidc)
    add_token_response(mock_http, oidc, {"access_token": "tok_1", "token_type": "Bearer"})
    add_profile_response(mock_http, oidc, userinfo())

    response = flow.callback(code="code-1")

    assert_rejected(response, "id_token")


def test_id_token_not_required_without_openid_scope(start_flow, oidc, mock_http, jwks_endpoint):
    flow = start_flow(oidc, scope=["profile"])
    add_token_response(mock_http, oidc, {"access_token": "tok_1", "token_type": "Bearer"})
    add_profile_response(mock_http, oidc, userinfo())

    response = flow.callback(code="code-1")

    assert response.status_code == 200, response.json()
    assert len(jwks_endpoint.calls) == 0


# Keys named by the token header are never used


def test_jwk_header_ignored(start_flow, oidc, mock_http, jwks_endpoint):
    attacker = SigningKey("RS256", kid="rsa-1")

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: attacker.sign(
        id_token_claims(oidc, nonce), headers={"jwk": attacker.jwk()}))

    assert_rejected(response, "signature")


def test_jku_header_ignored(start_flow, oidc, mock_http, jwks_endpoint):
    attacker = SigningKey("RS256", kid="attacker-1")
    attacker_jwks = mock_http.add(responses.GET, "https://attacker.test/jwks", json=jwks(attacker))

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: attacker.sign(
        id_token_claims(oidc, nonce), headers={"jku": "https://attacker.test/jwks",
                                               "x5u": "https://attacker.test/cert"}))

    assert_rejected(response, "kid")
    assert len(attacker_jwks.calls) == 0


# JWKS fetching and caching


def test_jwks_cached_between_sign_ins(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    for _ in range(2):
        response = sign_in_with(start_flow, oidc, mock_http,
                                lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)))
        assert response.status_code == 200, response.json()

    assert len(jwks_endpoint.calls) == 1


def test_unknown_kid_refetches_once_then_fails(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    first = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)))
    assert first.status_code == 200, first.json()

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce), kid="rotated-away"))

    assert_error(response, 400, "invalid_id_token")
    assert response.json()["errors"][0]["detail"].endswith("Failed check: kid.")
    assert len(jwks_endpoint.calls) == 2


def test_rotated_key_found_after_refetch(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    first = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)))
    assert first.status_code == 200, first.json()
    new_key = SigningKey("RS256", kid="rsa-2")
    mock_http.replace(responses.GET, JWKS_URI, json=jwks(signing_key, new_key))

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: new_key.sign(id_token_claims(oidc, nonce)))

    assert response.status_code == 200, response.json()
    assert sum(call.request.url == JWKS_URI for call in mock_http.calls) == 2


def test_jwks_failure_is_provider_unavailable(start_flow, oidc, mock_http, signing_key):
    mock_http.add(responses.GET, JWKS_URI, body="<html>down</html>", status=503, content_type="text/html")

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)))

    assert_error(response, 502, "provider_unavailable", type_="server_error")
    assert not AccountAccess.objects.exists()


def test_jwks_without_usable_keys_is_provider_unavailable(start_flow, oidc, mock_http, signing_key):
    mock_http.add(responses.GET, JWKS_URI, json={"keys": [{"kty": "oct", "k": "c2VjcmV0"}, {"kty": "nope"}]})

    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)))

    assert_error(response, 502, "provider_unavailable", type_="server_error")


def test_jwks_cache_is_per_provider(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    other = make_provider("other", protocol=Protocol.OIDC, issuer="https://other.test",
                          jwks_uri="https://other.test/jwks", profile_url="https://other.test/userinfo",
                          scope=["openid"])
    other_key = SigningKey("RS256", kid="rsa-1")
    mock_http.add(responses.GET, "https://other.test/jwks", json=jwks(other_key))
    assert sign_in_with(start_flow, oidc, mock_http,
                        lambda nonce: signing_key.sign(id_token_claims(oidc, nonce))).status_code == 200

    response = sign_in_with(start_flow, other, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(other, nonce, subject="user-2")), profile=userinfo("user-2"))

    assert_error(response, 400, "invalid_id_token")
    assert response.json()["errors"][0]["detail"].endswith("Failed check: signature.")


# Userinfo and the authorization response's iss


def test_userinfo_sub_mismatch_rejected(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http, lambda nonce: signing_key.sign(
        id_token_claims(oidc, nonce)), profile=userinfo("someone-else"))

    assert_rejected(response, "sub")


def test_callback_iss_equal_to_issuer_passes(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    response = sign_in_with(start_flow, oidc, mock_http,
                            lambda nonce: signing_key.sign(id_token_claims(oidc, nonce)), iss=ISSUER)

    assert response.status_code == 200, response.json()


def test_callback_iss_mismatch_rejected_before_exchange(start_flow, oidc, mock_http, jwks_endpoint, signing_key):
    flow = start_flow(oidc)
    token_endpoint = add_token_response(mock_http, oidc, {"access_token": "tok_1", "id_token": "unused"})

    response = flow.callback(code="code-1", iss="https://attacker.test")

    assert_error(response, 400, "issuer_mismatch")
    assert len(token_endpoint.calls) == 0
    assert not AccountAccess.objects.exists()


def test_callback_iss_ignored_without_configured_issuer(start_flow, provider, mock_http):
    add_token_response(mock_http, provider)
    add_profile_response(mock_http, provider)

    response = start_flow(provider).callback(code="code-1", iss="https://login.example.test")

    assert response.status_code == 200, response.json()


# Secrets and configuration


def test_rejected_token_not_logged(start_flow, oidc, mock_http, jwks_endpoint, caplog):
    impostor = SigningKey("RS256", kid="rsa-1")
    tokens = []

    def make_token(nonce):
        tokens.append(impostor.sign(id_token_claims(oidc, nonce)))
        return tokens[0]

    with caplog.at_level(logging.DEBUG):
        response = sign_in_with(start_flow, oidc, mock_http, make_token)

    assert response.status_code == 400
    assert tokens[0] not in caplog.text
    assert tokens[0].split(".")[2] not in response.content.decode()
    assert "check=signature" in caplog.text


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["RS256", "HS512"]])
def test_provider_rejects_unsafe_algorithms(oidc, algorithms):
    oidc.id_token_algorithms = algorithms

    with pytest.raises(ValidationError) as raised:
        oidc.full_clean()

    assert list(raised.value.message_dict) == ["id_token_algorithms"]


def test_provider_with_jwks_uri_needs_issuer(oidc):
    oidc.issuer = ""

    with pytest.raises(ValidationError) as raised:
        oidc.full_clean()

    assert list(raised.value.message_dict) == ["issuer"]


# Discovery through ``providers set --issuer``

DISCOVERY_URL = ISSUER + "/.well-known/openid-configuration"


def discovery_document(**overrides):
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/authorize",
        "token_endpoint": ISSUER + "/token",
        "userinfo_endpoint": ISSUER + "/userinfo",
        "jwks_uri": JWKS_URI,
        "revocation_endpoint": ISSUER + "/revoke",
        "scopes_supported": ["openid", "email"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }
    document.update(overrides)
    return {key: value for key, value in document.items() if value is not None}


def set_issuer(*extra, issuer=ISSUER):
    call_command("providers", "set", "corp", "--issuer", issuer, "--client-id", "corp-id",
                 "--client-secret", CLIENT_SECRET, *extra, stdout=io.StringIO())
    return Provider.objects.get(name="corp")


def test_discovery_fills_endpoints(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL, json=discovery_document())

    provider = set_issuer()

    assert provider.protocol == Protocol.OIDC
    assert provider.issuer == ISSUER
    assert (provider.authorization_url, provider.access_token_url, provider.profile_url) == (
        ISSUER + "/authorize", ISSUER + "/token", ISSUER + "/userinfo")
    assert provider.jwks_uri == JWKS_URI
    assert provider.revocation_url == ISSUER + "/revoke"
    assert provider.scope == ["openid", "email"]
    assert provider.pkce is True


def test_discovery_keeps_only_asymmetric_algorithms(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL, json=discovery_document())

    assert set_issuer().id_token_algorithms == ["RS256", "ES256"]


def test_discovery_with_only_hmac_algorithms_defaults_to_rs256(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL,
                  json=discovery_document(id_token_signing_alg_values_supported=["HS256", "none"]))

    assert set_issuer().id_token_algorithms == ["RS256"]


def test_discovery_basic_only_sets_basic_auth(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL,
                  json=discovery_document(token_endpoint_auth_methods_supported=None))

    assert set_issuer().token_auth_method == "client_secret_basic"


def test_explicit_options_override_discovery(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL, json=discovery_document())

    provider = set_issuer("--profile-url", "https://api.openid.test/me", "--scope", "openid",
                          "--token-auth-method", "client_secret_basic", "--no-pkce")

    assert provider.profile_url == "https://api.openid.test/me"
    assert provider.scope == ["openid"]
    assert provider.token_auth_method == "client_secret_basic"
    assert provider.pkce is False


def test_discovery_issuer_with_trailing_slash_must_match_exactly(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL, json=discovery_document(issuer=ISSUER + "/"))

    provider = set_issuer(issuer=ISSUER + "/")

    assert provider.issuer == ISSUER + "/"


@pytest.mark.parametrize("response_kwargs", [
    {"json": discovery_document(issuer="https://evil.test")},
    {"json": discovery_document(jwks_uri=None)},
    {"json": discovery_document(token_endpoint=None)},
    {"json": ["not", "an", "object"]},
    {"body": "<html>not found</html>", "status": 404, "content_type": "text/html"},
    {"body": "{broken", "content_type": "application/json"},
])
def test_bad_discovery_is_command_error(db, mock_http, response_kwargs):
    mock_http.add(responses.GET, DISCOVERY_URL, **response_kwargs)

    with pytest.raises(CommandError, match="discovery"):
        set_issuer()

    assert not Provider.objects.exists()


def test_discovery_with_insecure_endpoint_rejected(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL, json=discovery_document(token_endpoint="http://openid.test/token"))

    with pytest.raises(CommandError, match="--access-token-url"):
        set_issuer()

    assert not Provider.objects.exists()


def test_discovery_of_http_issuer_rejected(db, mock_http):
    with pytest.raises(CommandError, match="discovery"):
        set_issuer(issuer="http://openid.test")

    assert len(mock_http.calls) == 0


def test_discovery_reports_source(db, mock_http):
    mock_http.add(responses.GET, DISCOVERY_URL, json=discovery_document())
    output = io.StringIO()

    call_command("providers", "set", "corp", "--issuer", ISSUER, stdout=output)

    assert f"Endpoints read from {DISCOVERY_URL}" in output.getvalue().splitlines()
