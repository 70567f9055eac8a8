"""System checks for the encryption keys, redirect URIs and development switches."""

from urllib.parse import urlsplit

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


# Schemes a redirect URI must never use: the browser would run or render the callback data.
UNSAFE_REDIRECT_SCHEMES = {"javascript", "data", "vbscript", "file", "blob"}


def redirect_uri_problem(uri):
    """Return why ``uri`` is unsafe as an allowed redirect URI, or ''."""
    parts = urlsplit(uri)
    if not parts.scheme:
        return "it has no scheme"
    if parts.scheme.lower() in UNSAFE_REDIRECT_SCHEMES:
        return f"the {parts.scheme}: scheme runs or renders data in the browser"
    if "*" in uri:
        return "wildcards are not supported; URIs are matched exactly"
    if parts.fragment:
        return "a redirect URI must not have a fragment (RFC 6749 §3.1.2)"
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        return "plain http is only acceptable on loopback (RFC 8252 §8.3)"
    return ""


@register(deploy=True)
def check_redirect_uri_safety(app_configs, **kwargs):
    warnings = []
    for uri in api_settings.REDIRECT_URIS:
        problem = redirect_uri_problem(uri)
        if problem:
            warnings.append(Warning(
                f"Allowed redirect URI {uri!r} is unsafe: {problem}.",
                hint="Fix or remove it in ALLACCESS_REDIRECT_URIS.",
                id="allaccess_api.W003",
            ))
    return warnings


@register(Tags.security, deploy=True)
def check_insecure_loopback(app_configs, **kwargs):
    if not api_settings.INSECURE_LOOPBACK:
        return []
    return [Warning(
        "ALLACCESS_INSECURE_LOOPBACK is on: provider URLs may use plain http on loopback addresses.",
        hint="It is meant for development and tests; turn it off in production.",
        id="allaccess_api.W004",
    )]
