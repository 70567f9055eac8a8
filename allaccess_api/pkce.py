"""PKCE verifiers and S256 challenges (RFC 7636).

Used twice: towards the provider (our own verifier) and between the client
app and this API (the client's verifier binds ``callback`` to ``authorize``).
"""

import base64
import hashlib
import hmac
import re
import secrets

# RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
VERIFIER_PATTERN = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 7636 §4.2: base64url of a SHA-256 digest without padding is always 43 characters.
S256_CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def make_verifier():
    """Return a new verifier with 384 random bits (64 characters)."""
    return secrets.token_urlsafe(48)


def s256_challenge(verifier):
    """Return base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(verifier, challenge):
    """Check a verifier against an S256 challenge in constant time."""
    if not VERIFIER_PATTERN.match(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier), challenge)
