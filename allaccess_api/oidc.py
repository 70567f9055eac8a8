"""OpenID Connect: discovery, the provider's signing keys (JWKS) and ID token validation.

Keys come only from the provider's ``jwks_uri``, fetched through the session
factory and kept in Django's cache. Keys named in a token's header (``jwk``,
``jku``, ``x5u``) are never used. Only asymmetric algorithms from the
provider's allowed list are accepted. So neither ``none`` nor an HMAC signature
made with a public key or the client secret can pass.
"""

import hashlib
import hmac
import logging
from datetime import timedelta

import jwt
from django.core.cache import cache

from allaccess_api.clients.base import decode_json, response_charset
from allaccess_api.clients.exceptions import ProviderRequestError
from allaccess_api.clients.session import get_session, loggable_url, read_body
from allaccess_api.models import Protocol

logger = logging.getLogger(__name__)

# JOSE key type (and curve) that each accepted signature algorithm needs (RFC 7518 §3, RFC 8037).
ALGORITHM_KEY_TYPES = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    "ES256K": ("EC", "secp256k1"),
    "EdDSA": ("OKP", None),
}
ASYMMETRIC_ALGORITHMS = tuple(ALGORITHM_KEY_TYPES)
SIGNING_KEY_TYPES = {key_type for key_type, _ in ALGORITHM_KEY_TYPES.values()}
# OpenID Connect Discovery §3: RS256 is the default when a provider names no algorithm.
DEFAULT_ALGORITHMS = ("RS256",)
# Clock skew tolerated on exp, iat and nbf.
LEEWAY = timedelta(minutes=2)
JWKS_CACHE_SECONDS = 3600
DISCOVERY_PATH = "/.well-known/openid-configuration"


class DiscoveryError(Exception):
    """The discovery document is missing, malformed or names another issuer."""


class IDTokenError(Exception):
    """An ID token (or the userinfo that goes with it) failed one validation check.

    ``check`` names the check (``signature``, ``aud``, ``nonce`` ...) and is safe to
    return to the client. The message contains more detail and goes to the log only.
    """

    def __init__(self, check, message):
        super().__init__(message)
        self.check = check


def unsafe_algorithms(algorithms):
    """Return the items of ``algorithms`` that are not accepted asymmetric signature algorithms."""
    return [algorithm for algorithm in algorithms if algorithm not in ASYMMETRIC_ALGORITHMS]


def allowed_algorithms(provider):
    """Return the algorithms an ID token of ``provider`` may be signed with."""
    configured = [algorithm for algorithm in provider.id_token_algorithms or () if algorithm in ASYMMETRIC_ALGORITHMS]
    return configured or list(DEFAULT_ALGORITHMS)


def fetch_json(url, provider_name=None):
    """GET ``url`` through the session factory and return its JSON body."""
    response = get_session().request(
        "GET", url, provider=provider_name, headers={"Accept": "application/json"}, stream=True
    )
    body = read_body(response)
    if response.status_code != 200:
        raise ProviderRequestError(f"GET {loggable_url(url)} returned HTTP {response.status_code}")
    return decode_json(body, response_charset(response))


# Discovery


def discovery_url(issuer):
    """Return the discovery document URL of ``issuer`` (OpenID Connect Discovery 1.0 §4.1)."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def fetch_discovery(issuer):
    """Fetch the discovery document of ``issuer`` and check that it names the same issuer.

    Raises ``DiscoveryError`` for a wrong or malformed document and
    ``ProviderRequestError`` when it cannot be fetched.
    """
    try:
        document = fetch_json(discovery_url(issuer))
    except ProviderRequestError as exc:
        raise DiscoveryError(f"Fetching {discovery_url(issuer)} failed: {exc}") from exc
    if not isinstance(document, dict):
        raise DiscoveryError(f"{discovery_url(issuer)} is not a JSON object.")
    # Discovery §4.3: the issuer in the document must be identical to the URL it was fetched for.
    if document.get("issuer") != issuer:
        raise DiscoveryError(
            f"The discovery document names issuer {document.get('issuer')!r}, not {issuer!r}. "
            "Use exactly the issuer URL the provider documents."
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise DiscoveryError(f"The discovery document has no {key}.")
    return document


def discovered_fields(document):
    """Map a checked discovery document onto ``Provider`` field values."""
    fields = {
        "protocol": Protocol.OIDC,
        "issuer": document["issuer"],
        "authorization_url": document["authorization_endpoint"],
        "access_token_url": document["token_endpoint"],
        "jwks_uri": document["jwks_uri"],
    }
    optional = {"userinfo_endpoint": "profile_url", "revocation_endpoint": "revocation_url"}
    for key, field in optional.items():
        if isinstance(document.get(key), str) and document[key]:
            fields[field] = document[key]

    advertised = document.get("id_token_signing_alg_values_supported")
    if isinstance(advertised, list):
        algorithms = [item for item in advertised if item in ASYMMETRIC_ALGORITHMS]
        fields["id_token_algorithms"] = algorithms or list(DEFAULT_ALGORITHMS)

    # Discovery §3: without token_endpoint_auth_methods_supported, only client_secret_basic is promised.
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if isinstance(methods, list) and "client_secret_post" not in methods and "client_secret_basic" in methods:
        fields["token_auth_method"] = "client_secret_basic"

    challenge_methods = document.get("code_challenge_methods_supported")
    if isinstance(challenge_methods, list):
        fields["pkce"] = "S256" in challenge_methods
    return fields


def default_scope(document):
    """Return ``openid`` plus ``profile`` and ``email`` where the document lists them (or lists no scopes)."""
    supported = document.get("scopes_supported")
    preferred = ["openid", "profile", "email"]
    if not isinstance(supported, list):
        return preferred
    return ["openid"] + [scope for scope in preferred[1:] if scope in supported]


# Signing keys


def jwks_cache_key(provider):
    digest = hashlib.sha256(provider.jwks_uri.encode()).hexdigest()[:32]
    return f"allaccess_api:jwks:{provider.pk}:{digest}"


def fetch_jwks(provider):
    """Fetch ``provider``'s JWK Set, check that it has usable keys, and cache it."""
    document = fetch_json(provider.jwks_uri, provider.name)
    if not isinstance(document, dict):
        raise ProviderRequestError("JWKS response is not a JSON object")
    try:
        key_set = jwt.PyJWKSet.from_dict(document)
    except jwt.PyJWTError as exc:
        raise ProviderRequestError(f"JWKS has no usable keys: {type(exc).__name__}") from exc
    if not any(key.key_type in SIGNING_KEY_TYPES for key in key_set):
        raise ProviderRequestError("JWKS has no RSA, EC or OKP key")
    cache.set(jwks_cache_key(provider), document, JWKS_CACHE_SECONDS)
    return document


def select_key(document, header):
    """Return the ``PyJWK`` of ``document`` that matches the token header's ``alg`` and ``kid``, or None.

    OpenID Connect Core §10.1: a ``kid`` is required when the set contains several
    usable keys, so without one only a set with a single candidate matches.
    """
    algorithm = header["alg"]
    key_type, curve = ALGORITHM_KEY_TYPES[algorithm]
    candidates = [
        key for key in document.get("keys", [])
        if isinstance(key, dict)
        and key.get("kty") == key_type
        and (curve is None or key.get("crv") == curve)
        and key.get("use", "sig") == "sig"
        and key.get("alg", algorithm) == algorithm
    ]
    kid = header.get("kid")
    if kid is not None:
        candidates = [key for key in candidates if key.get("kid") == kid]
    if len(candidates) != 1:
        return None
    try:
        return jwt.PyJWK(candidates[0], algorithm)
    except jwt.PyJWTError:
        return None


def load_signing_key(provider, header):
    """Return the provider key for ``header``, fetching the JWKS again once if the cached one lacks it."""
    document = cache.get(jwks_cache_key(provider))
    fetched = document is None
    if fetched:
        document = fetch_jwks(provider)
    key = select_key(document, header)
    if key is None and not fetched:
        # The provider may have rotated its keys since the set was cached.
        logger.info("ID token key not in cached JWKS, fetching again provider=%s kid=%s",
                    provider.name, header.get("kid"))
        key = select_key(fetch_jwks(provider), header)
    if key is None:
        raise IDTokenError("kid", f"No {header['alg']} key with kid {header.get('kid')!r} in the provider's JWKS")
    return key


# ID token validation (OpenID Connect Core §3.1.3.7)


def id_token_expected(provider, scope):
    """Tell whether a flow of ``provider`` with ``scope`` must return a validated ID token."""
    return provider.protocol == Protocol.OIDC and bool(provider.jwks_uri) and "openid" in (scope or ())


def read_header(id_token):
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise IDTokenError("malformed", f"ID token header cannot be read: {type(exc).__name__}") from exc
    if not isinstance(header.get("alg"), str):
        raise IDTokenError("alg", "ID token header has no alg")
    return header


def decode_claims(id_token, key, algorithm):
    """Check the signature, exp, iat and nbf with PyJWT and return the claims."""
    try:
        return jwt.decode(
            id_token,
            key=key,
            algorithms=[algorithm],
            leeway=LEEWAY,
            # iss and aud are checked by the functions below, which name the failed check.
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_aud": False, "verify_iss": False},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise IDTokenError(exc.claim, f"ID token has no {exc.claim} claim") from exc
    except jwt.ExpiredSignatureError as exc:
        raise IDTokenError("exp", "ID token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise IDTokenError("iat", f"ID token is not valid yet: {exc}") from exc
    except jwt.InvalidIssuedAtError as exc:
        raise IDTokenError("iat", "ID token iat is not a number") from exc
    except jwt.InvalidSignatureError as exc:
        raise IDTokenError("signature", "ID token signature does not verify with the provider's key") from exc
    except jwt.PyJWTError as exc:
        raise IDTokenError("malformed", f"ID token cannot be decoded: {type(exc).__name__}") from exc


def check_issuer(claims, provider):
    if claims["iss"] != provider.issuer:
        raise IDTokenError("iss", f"ID token iss {claims['iss']!r} is not {provider.issuer!r}")


def check_audience(claims, provider):
    """Check ``aud`` and ``azp`` against our client id (OpenID Connect Core §3.1.3.7, steps 3 to 5)."""
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or provider.client_id not in audiences:
        raise IDTokenError("aud", "ID token aud does not contain the client id")
    # Any other audience is a party this API does not trust.
    if any(item != provider.client_id for item in audiences):
        raise IDTokenError("aud", "ID token aud contains an audience other than the client id")
    azp = claims.get("azp")
    if azp is None and len(audiences) > 1:
        raise IDTokenError("azp", "ID token has several audiences and no azp")
    if azp is not None and azp != provider.client_id:
        raise IDTokenError("azp", "ID token azp is not the client id")


def check_nonce(claims, nonce):
    value = claims.get("nonce")
    if not isinstance(value, str) or not nonce:
        raise IDTokenError("nonce", "ID token has no nonce")
    if not hmac.compare_digest(value.encode(errors="replace"), nonce.encode()):
        raise IDTokenError("nonce", "ID token nonce differs from the one sent in the authorization request")


def validate_id_token(provider, id_token, *, nonce):
    """Validate ``id_token`` for ``provider`` and return its claims, or raise ``IDTokenError``.

    Raises ``ProviderRequestError`` when the provider's JWKS cannot be fetched.
    """
    header = read_header(id_token)
    algorithm = header["alg"]
    if algorithm not in allowed_algorithms(provider):
        raise IDTokenError("alg", f"ID token algorithm {algorithm!r} is not allowed for this provider")
    key = load_signing_key(provider, header)

    claims = decode_claims(id_token, key, algorithm)
    check_issuer(claims, provider)
    check_audience(claims, provider)
    check_nonce(claims, nonce)
    return claims


def verify_id_token(provider, pending, token):
    """Validate the ID token of a finished flow; return its claims, or None when the flow needs none."""
    if not id_token_expected(provider, pending.scope):
        return None
    if not token.id_token:
        raise IDTokenError("id_token", "The token response has no id_token")
    return validate_id_token(provider, token.id_token, nonce=pending.nonce)


def check_userinfo_subject(claims, profile):
    """OpenID Connect Core §5.3.2: the userinfo ``sub`` must equal the ID token's ``sub``."""
    if claims is None:
        return
    subject = profile.get("sub") if isinstance(profile, dict) else None
    if subject != claims["sub"]:
        raise IDTokenError("sub", "The userinfo sub differs from the ID token sub")


def issuer_matches(provider, iss):
    """Tell whether the ``iss`` of an authorization response (RFC 9207) is ``provider``'s issuer.

    Providers with no configured issuer accept any value, because there is nothing to compare it with.
    NOTE: a callback without ``iss`` passes even for providers whose discovery sets
    ``authorization_response_iss_parameter_supported``, because that flag is not stored.
    """
    return not provider.issuer or iss == provider.issuer
