"""System checks for the encryption keys and redirect URIs."""

from cryptography.fernet import Fernet
from django.core.checks import Error, Tags, Warning, register

from allaccess_api.settings import api_settings


@register(Tags.security)
def check_encryption_keys(app_configs, **kwargs):
    """Every configured key must be a valid Fernet key."""
    errors = []
    for position, key in enumerate(api_settings.ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key.strip())
        except (ValueError, TypeError):
            errors.append(Error(
                f"Encryption key number {position} is not a Fernet key (32 url-safe base64-encoded bytes).",
                hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                     "print(Fernet.generate_key().decode())'",
                id="allaccess_api.E001",
            ))
    return errors


@register(Tags.security, deploy=True)
def check_encryption_keys_configured(app_configs, **kwargs):
    if api_settings.ENCRYPTION_KEYS:
        return []
    return [Warning(
        "No encryption keys are configured; tokens are encrypted with a key derived from SECRET_KEY.",
        hint="Set ALLACCESS_ENCRYPTION_KEYS, so that rotating SECRET_KEY does not make stored tokens unreadable.",
        id="allaccess_api.W001",
    )]


@register(deploy=True)
def check_redirect_uris(app_configs, **kwargs):
    if api_settings.REDIRECT_URIS:
        return []
    return [Warning(
        "No redirect URIs are allowed, so every authorize request will be rejected.",
        hint="Set ALLACCESS_REDIRECT_URIS to your SPA's callback page or your app's redirect URI.",
        id="allaccess_api.W002",
    )]
