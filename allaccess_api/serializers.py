"""Request and response bodies of the API."""

import re

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from allaccess_api import exceptions, pkce
from allaccess_api.models import AccountAccess, Protocol, Provider
from allaccess_api.settings import api_settings

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
MAX_SCOPES = 50


def _error_of(exception_class):
    """Build a field validation error with an API error's message and code."""
    return serializers.ValidationError(exception_class.default_detail, code=exception_class.default_code)


class ProviderSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()
    client_id = serializers.CharField(
        required=False, help_text=_("Public client id, for native SDKs. Omitted for OAuth 1.0a providers.")
    )
    scope = serializers.ListField(child=serializers.CharField(), help_text=_("Scopes requested by default."))

    class Meta:
        model = Provider
        fields = ["name", "display_name", "protocol", "scope", "client_id"]

    def get_display_name(self, provider) -> str:
        return provider.display_name or provider.name

    def to_representation(self, provider):
        data = super().to_representation(provider)
        if provider.protocol == Protocol.OAUTH1:
            data.pop("client_id")
        return data


class AuthorizeSerializer(serializers.Serializer):
    redirect_uri = serializers.CharField(
        max_length=2048, trim_whitespace=False,
        help_text=_("Where the provider sends the user back; one of the allowed redirect URIs, exactly."),
    )
    code_challenge = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False,
        help_text=_("base64url(SHA-256(code_verifier)) of the client's own PKCE verifier, 43 characters."),
    )
    code_challenge_method = serializers.CharField(
        required=False, max_length=16, default="S256", help_text=_("Only S256 is accepted.")
    )
    scope = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=False),
        required=False,
        allow_empty=False,
        max_length=MAX_SCOPES,
        help_text=_("Scopes to request; defaults to the provider's scope."),
    )

    def validate_redirect_uri(self, value):
        if value not in api_settings.REDIRECT_URIS:
            raise _error_of(exceptions.RedirectURINotAllowed)
        return value

    def validate_code_challenge(self, value):
        if not pkce.S256_CHALLENGE_PATTERN.match(value):
            raise _error_of(exceptions.InvalidCodeChallenge)
        return value

    def validate_code_challenge_method(self, value):
        if value != "S256":
            raise _error_of(exceptions.InvalidCodeChallenge)
        return value

    def validate_scope(self, value):
        for scope in value:
            if not SCOPE_TOKEN.match(scope):
                raise serializers.ValidationError(_("Each scope must be one token without spaces or quotes."),
                                                  code="invalid")
        return list(dict.fromkeys(value))

    def validate(self, attrs):
        if api_settings.REQUIRE_CLIENT_BINDING and not attrs.get("code_challenge"):
            raise serializers.ValidationError(
                {"code_challenge": [_error_of(exceptions.InvalidCodeChallenge).detail[0]]}
            )
        return attrs


class AuthorizationSerializer(serializers.Serializer):
    authorization_url = serializers.URLField(help_text=_("Send the user's browser here."))
    state = serializers.CharField(help_text=_("Opaque value to post back to callback; keep it with the verifier."))
    expires_at = serializers.DateTimeField(help_text=_("The flow must be finished before this time."))


class CallbackSerializer(serializers.Serializer):
    state = serializers.CharField(max_length=512, trim_whitespace=False)
    code = serializers.CharField(required=False, max_length=4096, trim_whitespace=False,
                                 help_text=_("The authorization code from the redirect (OAuth 2.0, OpenID Connect)."))
    code_verifier = serializers.CharField(required=False, max_length=128, trim_whitespace=False,
                                          help_text=_("The client's PKCE verifier for the code_challenge it sent."))
    oauth_token = serializers.CharField(required=False, max_length=1024, trim_whitespace=False,
                                        help_text=_("The request token from the redirect (OAuth 1.0a)."))
    oauth_verifier = serializers.CharField(required=False, max_length=1024, trim_whitespace=False,
                                           help_text=_("The verifier from the redirect (OAuth 1.0a)."))
    iss = serializers.CharField(required=False, max_length=2048, trim_whitespace=False,
                                help_text=_("The iss parameter of the redirect, when the provider sends one "
                                            "(RFC 9207)."))
    error = serializers.CharField(required=False, max_length=256,
                                  help_text=_("The error the provider redirected with, if any "
                                              "(OAuth 1.0a providers send 'denied')."))
    error_description = serializers.CharField(required=False, max_length=2048, allow_blank=True)

    def validate(self, attrs):
        if not any(attrs.get(name) for name in ("code", "oauth_verifier", "error")):
            # An OAuth 1.0a callback is recognised by its oauth_token.
            missing = "oauth_verifier" if attrs.get("oauth_token") else "code"
            raise serializers.ValidationError(
                {missing: [serializers.ErrorDetail(_("This field is required."), code="required")]}
            )
        if api_settings.REQUIRE_CLIENT_BINDING and not attrs.get("error") and not attrs.get("code_verifier"):
            raise serializers.ValidationError(
                {"code_verifier": [serializers.ErrorDetail(_("This field is required."), code="required")]}
            )
        return attrs

    def validate_code_verifier(self, value):
        # RFC 7636 §4.1; checked here so a malformed verifier does not use up the state.
        if not pkce.VERIFIER_PATTERN.match(value):
            raise serializers.ValidationError(
                _("code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'."),
                code="invalid",
            )
        return value


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="name", read_only=True)
    scope = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = AccountAccess
        fields = ["id", "provider", "identifier", "created", "modified", "scope", "expires_at", "status"]
        read_only_fields = fields


class SignInSerializer(serializers.Serializer):
    access = serializers.CharField(help_text=_("Access JWT, for Authorization: Bearer."))
    refresh = serializers.CharField(help_text=_("Refresh JWT, for auth/refresh/ and auth/logout/."))
    user = UserSerializer()
    account = AccountSerializer()
    user_created = serializers.BooleanField()
    account_created = serializers.BooleanField()


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, rejecting tokens of deleted users (401) and inactive users (403)."""

    refresh = serializers.CharField(write_only=False, max_length=4096)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        token = RefreshToken(attrs["refresh"])
        user_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
        if user is None:
            raise InvalidToken(_("The user of this token no longer exists."))
        if not user.is_active:
            raise exceptions.InactiveUser()
        return super().validate(attrs)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, help_text=_("The refresh JWT to revoke."))

    def save(self):
        RefreshToken(self.validated_data["refresh"]).blacklist()
