"""Providers, linked provider accounts and pending authorizations."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allaccess_api.crypto import EncryptedTextField


class Protocol(models.TextChoices):
    OAUTH1 = "oauth1", "OAuth 1.0a"
    OAUTH2 = "oauth2", "OAuth 2.0"
    OIDC = "oidc", "OpenID Connect"


class TokenAuthMethod(models.TextChoices):
    """Client authentication method at the token endpoint (RFC 6749 §2.3.1)."""

    CLIENT_SECRET_POST = "client_secret_post", _("Client id and secret in the request body")
    CLIENT_SECRET_BASIC = "client_secret_basic", _("HTTP Basic authentication")


class ProviderQuerySet(models.QuerySet):
    def enabled(self):
        """Providers that are switched on and have client credentials."""
        return self.filter(enabled=True).exclude(client_id="").exclude(client_secret="")


class Provider(models.Model):
    """An OAuth 1.0a, OAuth 2.0 or OpenID Connect provider users sign in with."""

    name = models.SlugField(_("name"), max_length=50, unique=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    protocol = models.CharField(_("protocol"), max_length=10, choices=Protocol.choices, default=Protocol.OAUTH2)

    request_token_url = models.URLField(_("request token URL"), max_length=500, blank=True)
    authorization_url = models.URLField(_("authorization URL"), max_length=500)
    access_token_url = models.URLField(_("access token URL"), max_length=500)
    profile_url = models.URLField(_("profile URL"), max_length=500)
    api_base_url = models.URLField(_("API base URL"), max_length=500, blank=True)
    revocation_url = models.URLField(
        _("revocation URL"), max_length=500, blank=True, help_text=_("Token revocation endpoint (RFC 7009).")
    )

    # OpenID Connect: filled from discovery ({issuer}/.well-known/openid-configuration).
    issuer = models.URLField(_("issuer"), max_length=500, blank=True)
    jwks_uri = models.URLField(_("JWKS URI"), max_length=500, blank=True)
    id_token_algorithms = models.JSONField(
        _("ID token algorithms"), default=list, blank=True, help_text=_("Allowed ID token signing algorithms.")
    )

    scope = models.JSONField(_("scope"), default=list, blank=True, help_text=_("Scopes requested by default."))
    identifier_path = models.CharField(
        _("identifier path"),
        max_length=200,
        blank=True,
        help_text=_("Dotted path to the user id in the profile JSON, list indices allowed (data.0.id). "
                    "Empty: 'sub' for OpenID Connect, 'id' otherwise."),
    )
    token_auth_method = models.CharField(
        _("token endpoint auth method"),
        max_length=30,
        choices=TokenAuthMethod.choices,
        default=TokenAuthMethod.CLIENT_SECRET_POST,
    )
    pkce = models.BooleanField(_("PKCE"), default=True, help_text=_("Send a PKCE S256 challenge to the provider."))
    api_headers = models.JSONField(
        _("API headers"),
        default=dict,
        blank=True,
        help_text=_("Extra headers sent with every profile and API request, as a JSON object."),
    )
    profile_fields = models.JSONField(
        _("profile fields"),
        default=dict,
        blank=True,
        help_text=_("Where the profile keeps names, email and username, as a JSON object of field to dotted path "
                    "or list of paths, for example {\"full_name\": \"data.name\"}. Fields: "
                    "first_name, last_name, full_name, email, email_verified, username. "
                    "Empty: the OpenID Connect claim names and their common variants."),
    )
    trust_email = models.BooleanField(
        _("trust email"),
        default=False,
        help_text=_("Keep the profile's email even when the profile does not mark it verified."),
    )
    legacy_oauth1 = models.BooleanField(
        _("legacy OAuth 1.0"),
        default=False,
        help_text=_("Accept request-token responses without oauth_callback_confirmed."),
    )

    client_id = models.CharField(_("client id"), max_length=255, blank=True)
    client_secret = EncryptedTextField(_("client secret"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("provider")
        verbose_name_plural = _("providers")

    def __str__(self):
        return self.display_name or self.name

    def clean(self):
        from allaccess_api.clients.session import is_allowed_url

        errors = {}
        url_fields = ("request_token_url", "authorization_url", "access_token_url", "profile_url", "api_base_url",
                      "revocation_url", "issuer", "jwks_uri")
        for field in url_fields:
            url = getattr(self, field)
            if url and not is_allowed_url(url):
                errors[field] = _("Use an https:// URL (http:// only on loopback with ALLACCESS_INSECURE_LOOPBACK on).")
        if self.protocol == Protocol.OAUTH1 and not self.request_token_url:
            errors["request_token_url"] = _("OAuth 1.0a providers need a request token URL.")
        if not isinstance(self.scope, list) or not all(isinstance(item, str) for item in self.scope):
            errors["scope"] = _("Scope must be a list of strings.")
        if not isinstance(self.api_headers, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in self.api_headers.items()
        ):
            errors["api_headers"] = _("API headers must be a JSON object of header names to string values.")
        self.clean_profile_fields(errors)
        self.clean_id_token_settings(errors)
        if errors:
            raise ValidationError(errors)

    def clean_profile_fields(self, errors):
        from allaccess_api.profiles import PROFILE_FIELDS

        fields = self.profile_fields
        if not isinstance(fields, dict):
            errors["profile_fields"] = _("Profile fields must be a JSON object.")
            return
        unknown = sorted(set(fields) - set(PROFILE_FIELDS))
        if unknown:
            errors["profile_fields"] = _("Unknown profile fields: %(fields)s. Known: %(known)s.") % {
                "fields": ", ".join(unknown), "known": ", ".join(PROFILE_FIELDS)}
            return
        for paths in fields.values():
            paths = [paths] if isinstance(paths, str) else paths
            if not isinstance(paths, list) or not paths or not all(isinstance(path, str) and path for path in paths):
                errors["profile_fields"] = _("Each profile field maps to a dotted path or a list of dotted paths.")
                return

    def clean_id_token_settings(self, errors):
        from allaccess_api.oidc import unsafe_algorithms

        if not isinstance(self.id_token_algorithms, list) or not all(
            isinstance(item, str) for item in self.id_token_algorithms
        ):
            errors["id_token_algorithms"] = _("ID token algorithms must be a list of strings.")
        elif unsafe_algorithms(self.id_token_algorithms):
            errors["id_token_algorithms"] = _(
                "Only asymmetric signing algorithms are allowed (RS256, PS256, ES256, EdDSA ...), not %(algorithms)s."
            ) % {"algorithms": ", ".join(unsafe_algorithms(self.id_token_algorithms))}
        if self.protocol == Protocol.OIDC and self.jwks_uri and not self.issuer:
            errors["issuer"] = _("An OpenID Connect provider with a JWKS URI needs its issuer to validate ID tokens.")

    @property
    def is_enabled(self):
        return self.enabled and bool(self.client_id) and bool(self.client_secret)

    @property
    def effective_identifier_path(self):
        if self.identifier_path:
            return self.identifier_path
        return "sub" if self.protocol == Protocol.OIDC else "id"


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    REAUTHORIZATION_REQUIRED = "reauthorization_required", _("reauthorization required")


class AccountAccess(models.Model):
    """A provider identity linked to a local user, with its tokens encrypted."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="accounts")
    identifier = models.CharField(_("identifier"), max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_accesses")

    access_token = EncryptedTextField(_("access token"), blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    token_secret = EncryptedTextField(_("token secret"), blank=True, help_text=_("OAuth 1.0a only."))
    token_type = models.CharField(_("token type"), max_length=40, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    scope = models.JSONField(_("granted scope"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)

    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("account access")
        verbose_name_plural = _("account accesses")
        constraints = [
            models.UniqueConstraint(fields=["provider", "identifier"], name="allaccess_unique_provider_identifier"),
        ]

    def __str__(self):
        return f"{self.provider.name}:{self.identifier}"


class PendingAuthorizationQuerySet(models.QuerySet):
    def expired(self, now=None):
        return self.filter(expires_at__lt=now or timezone.now())


class PendingAuthorization(models.Model):
    """Server-side record of a started flow, keyed by the SHA-256 of its ``state``.

    The raw ``state`` is never stored: a database leak must not let anyone
    finish flows that are still open.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.TextField()
    scope = models.JSONField(default=list)
    # The client's challenge: base64url(SHA-256(client's code_verifier)), or empty when binding is off.
    code_challenge = models.CharField(max_length=43, blank=True)
    # Our own PKCE verifier towards the provider, and the OpenID Connect nonce.
    pkce_verifier = EncryptedTextField(blank=True)
    nonce = EncryptedTextField(blank=True)
    # OAuth 1.0a: the temporary credentials from the request token step (RFC 5849 §2.1).
    request_token = EncryptedTextField(blank=True)
    request_token_secret = EncryptedTextField(blank=True)
    # The signed-in user who started a link flow, or None for sign-in.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = PendingAuthorizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("pending authorization")
        verbose_name_plural = _("pending authorizations")

    def __str__(self):
        return f"{self.provider_id}:{self.state_hash[:12]}"
