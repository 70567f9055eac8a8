"""Issuing our own JWTs with djangorestframework-simplejwt."""

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import update_last_login
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def issue_tokens(user):
    """Return a new access and refresh JWT for ``user``."""
    refresh = RefreshToken.for_user(user)
    if jwt_settings.UPDATE_LAST_LOGIN:
        update_last_login(None, user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))



def hash_outstanding_token(sender, instance, **kwargs):
    """Store a digest instead of the refresh JWT in simplejwt's outstanding-token table.

    simplejwt keeps each issued refresh JWT there in plain text, so a copy of the
    database would let anyone refresh as any user. Only ``jti`` is needed to blacklist
    a token, so the table keeps the SHA-256 of the JWT instead.
    """
    if instance.token and not instance.token.startswith("sha256:"):
        instance.token = "sha256:" + hashlib.sha256(instance.token.encode()).hexdigest()
