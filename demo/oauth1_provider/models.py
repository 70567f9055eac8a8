"""Clients, request tokens, access tokens and used nonces of the local OAuth 1.0a provider.

Secrets are stored in plaintext because HMAC-SHA1 needs them to verify signatures.
This provider is a test fixture, not a model for storing production credentials.
"""

from django.conf import settings
from django.db import models


class Client(models.Model):
    """A registered client (consumer) with its key, secret and allowed callback URIs."""

    client_key = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=128)
    name = models.CharField(max_length=100)
    # Allowed callbacks, one per line; a callback matches one when they are equal without the query.
    callback_uris = models.TextField()

    def allowed_callbacks(self) -> list[str]:
        return [uri for uri in self.callback_uris.splitlines() if uri]


class RequestToken(models.Model):
    """Temporary credentials (RFC 5849 §2.1), authorized by a user and exchanged once."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    token = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=64)
    callback = models.TextField()
    realms = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE)
    verifier = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # Set when the token was exchanged for an access token or the user denied access.
    closed_at = models.DateTimeField(null=True)


class AccessToken(models.Model):
    """Token credentials (RFC 5849 §2.3) of one user for one client."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    token = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=64)
    realms = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)


class Nonce(models.Model):
    """A nonce already used with its timestamp and token (RFC 5849 §3.3)."""

    client_key = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=10)
    nonce = models.CharField(max_length=64)
    token = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_key", "timestamp", "nonce", "token"], name="unique_nonce"),
        ]
