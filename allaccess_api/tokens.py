"""Issuing our own JWTs with djangorestframework-simplejwt."""

import hashlib
import time
from dataclasses import dataclass

from django.contrib.auth.models import update_last_login
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


# The time of the sign-in behind a token, in seconds since the epoch (the OpenID Connect
# Core §2 claim name). Refreshed tokens copy it, so it stays the time of the sign-in.
AUTH_TIME_CLAIM = "auth_time"


def issue_tokens(user):
    """Return a new access and refresh JWT for ``user``, marked with the time of this sign-in."""
    refresh = RefreshToken.for_user(user)
    refresh[AUTH_TIME_CLAIM] = int(time.time())
    if jwt_settings.UPDATE_LAST_LOGIN:
        update_last_login(None, user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))



def signed_in_since(token, max_age):
    """Check that ``token`` comes from a sign-in at most ``max_age`` (a timedelta) ago."""
    auth_time = token.get(AUTH_TIME_CLAIM) if token is not None else None
    if isinstance(auth_time, bool) or not isinstance(auth_time, int):
        return False
    return time.time() - auth_time <= max_age.total_seconds()


def hash_outstanding_token(sender, instance, **kwargs):
    """Store a digest instead of the refresh JWT in simplejwt's outstanding-token table.

    simplejwt keeps each issued refresh JWT there in plain text, so a copy of the
    database would let anyone refresh as any user. Only ``jti`` is needed to blacklist
    a token, so the table keeps the SHA-256 of the JWT instead.
    """
    if instance.token and not instance.token.startswith("sha256:"):
        instance.token = "sha256:" + hashlib.sha256(instance.token.encode()).hexdigest()
