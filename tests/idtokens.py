"""Signing keys and ID tokens made in the test process, for fake OpenID Connect providers."""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class SigningKey:
    """A fresh RSA (RS256) or EC P-256 (ES256) key pair with a key id."""

    def __init__(self, algorithm="RS256", kid="key-1"):
        self.algorithm = algorithm
        self.kid = kid
        if algorithm == "ES256":
            self.private_key = ec.generate_private_key(ec.SECP256R1())
            self.public_jwk = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.public_jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)

    def jwk(self):
        """The public key as a JWK, as a provider publishes it at its jwks_uri."""
        return {**self.public_jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, claims, *, headers=None, kid=None):
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm,
                          headers={"kid": kid or self.kid, **(headers or {})})


def jwks(*keys):
    return {"keys": [key.jwk() for key in keys]}


def base64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims, *, alg="none", kid=None):
    """Encode ``claims`` with an empty signature, the way an ``alg: none`` forgery looks."""
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    return f"{base64url(json.dumps(header).encode())}.{base64url(json.dumps(claims).encode())}."


def hmac_token(claims, secret, *, kid=None):
    """Sign ``claims`` with HS256 and ``secret`` by hand (PyJWT refuses public keys as HMAC secrets)."""
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{base64url(json.dumps(header).encode())}.{base64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64url(signature)}"


def id_token_claims(provider, expected_nonce, *, subject="user-1", **overrides):
    """Valid ID token claims for ``provider``'s client; ``overrides`` set or (with None) remove claims."""
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": subject, "aud": provider.client_id, "exp": now + 300, "iat": now,
              "nonce": expected_nonce}
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def nonce_of(flow):
    """Return the nonce our API put into the flow's authorization URL."""
    query = parse_qs(urlsplit(flow.authorize_response["authorization_url"]).query)
    return query["nonce"][0]
