"""API errors: one class per failure, with its status, message and stable code.

drf-standardized-errors renders each as
``{"type": "client_error", "errors": [{"code": ..., "detail": ..., "attr": null}]}``.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class AllAccessAPIError(APIException):
    """Base class of the product's own API errors."""


class ProviderNotFound(AllAccessAPIError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = _("No enabled provider has this name.")
    default_code = "provider_not_found"


class RedirectURINotAllowed(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("redirect_uri is not one of the allowed redirect URIs.")
    default_code = "redirect_uri_not_allowed"


class InvalidCodeChallenge(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("code_challenge must be a base64url SHA-256 digest (43 characters) with method S256.")
    default_code = "invalid_code_challenge"


class InvalidState(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("state is unknown, already used, or belongs to another provider. Start a new flow.")
    default_code = "invalid_state"


class StateExpired(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("This flow has expired. Start a new flow.")
    default_code = "state_expired"


class BindingMismatch(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("code_verifier does not match the code_challenge sent to authorize.")
    default_code = "binding_mismatch"


class AccessDenied(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The user denied access at the provider.")
    default_code = "access_denied"


class ProviderError(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The provider returned an error.")
    default_code = "provider_error"


class TokenExchangeFailed(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The authorization code or verifier was rejected.")
    default_code = "token_exchange_failed"


class InvalidIDToken(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The provider's ID token failed validation.")
    default_code = "invalid_id_token"


class IssuerMismatch(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("iss is not the issuer of this provider. Start a new flow.")
    default_code = "issuer_mismatch"


class ProviderUnavailable(AllAccessAPIError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = _("The provider could not be reached or returned a response that could not be used.")
    default_code = "provider_unavailable"


class ProviderTimeout(AllAccessAPIError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_detail = _("The provider did not respond in time.")
    default_code = "provider_timeout"


class IdentifierMissing(AllAccessAPIError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = _("The provider's profile has no user id at the configured identifier path.")
    default_code = "identifier_missing"


class AccountInUse(AllAccessAPIError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This provider account is already linked to another user.")
    default_code = "account_in_use"


class ReauthenticationRequired(AllAccessAPIError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("Linking an account needs a recent sign-in. Sign in again, then link.")
    default_code = "reauthentication_required"


class SignupClosed(AllAccessAPIError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("Sign-up is closed: this provider account is not linked to any user.")
    default_code = "signup_closed"


class InactiveUser(AllAccessAPIError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("This user account is inactive.")
    default_code = "inactive_user"


class LastLoginMethod(AllAccessAPIError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Unlinking this account would leave the user no way to sign in.")
    default_code = "last_login_method"


class RequestTooLarge(AllAccessAPIError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class ReauthorizationRequired(AllAccessAPIError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The provider rejected the stored credentials. Sign in with this provider again.")
    default_code = "reauthorization_required"


class PathNotAllowed(AllAccessAPIError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The target is outside the provider's API base URL.")
    default_code = "path_not_allowed"


def all_api_errors():
    """Return every concrete error class, for docs and tests."""
    return AllAccessAPIError.__subclasses__()

