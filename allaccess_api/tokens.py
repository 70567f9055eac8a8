"""Issuing our own JWTs with djangorestframework-simplejwt."""

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

