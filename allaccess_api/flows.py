"""Starting and finishing sign-in and link flows.

``start_authorization`` records a pending authorization and returns the
provider's consent URL; ``complete_authorization`` consumes it, exchanges the
code, reads the profile, links the identity to a user and issues our JWTs.
"""

import contextlib
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail, ValidationError

from allaccess_api import exceptions, oidc, pkce
from allaccess_api.clients import get_client
from allaccess_api.clients.exceptions import (
    ProviderRequestError,
    ProviderTimeoutError,
    TokenExchangeError,
)
from allaccess_api.linking import link_identity
from allaccess_api.models import PendingAuthorization, Protocol, Provider
from allaccess_api.profiles import IdentifierNotFound, read_profile
from allaccess_api.settings import api_settings
from allaccess_api.tokens import issue_tokens, signed_in_since

logger = logging.getLogger(__name__)

PROVIDER_NAME = re.compile(r"^[-a-zA-Z0-9_]{1,50}\Z")


@dataclass(frozen=True)
class StartedAuthorization:
    authorization_url: str
    state: str
    expires_at: object


@dataclass(frozen=True)
class CompletedAuthorization:
    access: str
    refresh: str
    user: object
    account: object
    user_created: bool
    account_created: bool


def hash_state(state):
    """Return the key under which a ``state`` is stored (its SHA-256, hex)."""
    return hashlib.sha256(state.encode("utf-8", errors="surrogatepass")).hexdigest()


def get_enabled_provider(name):
    """Return the enabled provider called ``name``, or raise ``ProviderNotFound``."""
    # Only slugs can name a provider; anything else (a NUL byte, say) never reaches the database.
    if not PROVIDER_NAME.match(name):
        raise exceptions.ProviderNotFound()
    provider = Provider.objects.enabled().filter(name=name).first()
    if provider is None:
        raise exceptions.ProviderNotFound()
    return provider


def purge_expired_authorizations(now=None):
    """Delete pending authorizations past their expiry; return how many."""
    deleted, _ = PendingAuthorization.objects.expired(now).delete()
    return deleted


def start_authorization(provider, *, redirect_uri, code_challenge="", scope=None, user=None, auth_token=None):
    """Record a pending authorization and return where to send the user.

    ``redirect_uri`` and ``code_challenge`` are checked by the caller's
    serializer. ``user`` is set for a link flow, with ``auth_token`` the
    validated JWT it authenticated with.
    """
    link_user = user if user is not None and user.is_authenticated else None
    if link_user is not None and not signed_in_since(auth_token, api_settings.LINK_MAX_AUTH_AGE):
        logger.info("Link flow rejected provider=%s user=%s reason=sign-in not recent", provider.name, link_user.pk)
        raise exceptions.ReauthenticationRequired()

    state = secrets.token_urlsafe(32)
    scope = list(scope) if scope else list(provider.scope)
    pkce_verifier = pkce.make_verifier() if provider.pkce and provider.protocol != Protocol.OAUTH1 else ""
    nonce = secrets.token_urlsafe(32) if provider.protocol == Protocol.OIDC else ""
    expires_at = timezone.now() + api_settings.STATE_LIFETIME

    with provider_errors(provider):
        request = get_client(provider).begin_authorization(
            redirect_uri=redirect_uri,
            state=state,
            scope=scope,
            code_challenge=pkce.s256_challenge(pkce_verifier) if pkce_verifier else None,
            nonce=nonce or None,
        )

    purge_expired_authorizations()
    PendingAuthorization.objects.create(
        state_hash=hash_state(state),
        provider=provider,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=code_challenge or "",
        pkce_verifier=pkce_verifier,
        nonce=nonce,
        request_token=request.request_token,
        request_token_secret=request.request_token_secret,
        user=link_user,
        expires_at=expires_at,
    )
    logger.info("Authorization started provider=%s link_user=%s", provider.name, getattr(user, "pk", None))
    return StartedAuthorization(request.url, state, expires_at)


def consume_state(provider, state):
    """Mark the pending authorization for ``state`` used and return it.

    The conditional UPDATE makes a ``state`` single use even when callbacks race:
    only one of them changes the row.
    """
    now = timezone.now()
    state_hash = hash_state(state)
    claimed = PendingAuthorization.objects.filter(
        state_hash=state_hash, provider=provider, used_at__isnull=True
    ).update(used_at=now)
    if not claimed:
        logger.info("Callback rejected provider=%s reason=invalid_state", provider.name)
        raise exceptions.InvalidState()

    pending = PendingAuthorization.objects.select_related("user").get(state_hash=state_hash)
    if pending.expires_at <= now:
        logger.info("Callback rejected provider=%s pending=%s reason=state_expired", provider.name, pending.pk)
        raise exceptions.StateExpired()
    return pending


def check_binding(pending, code_verifier):
    """Check the client's verifier against the challenge it sent to ``authorize``."""
    if not pending.code_challenge:
        return
    if not code_verifier or not pkce.verifier_matches(code_verifier, pending.code_challenge):
        logger.warning("Callback rejected provider=%s pending=%s reason=binding_mismatch",
                       pending.provider.name, pending.pk)
        raise exceptions.BindingMismatch()


def raise_provider_redirect_error(error, description):
    """Turn the error a provider redirected with into an API error (RFC 6749 §4.1.2.1)."""
    # OAuth 1.0a providers such as Twitter signal a cancelled consent with "denied".
    if error in ("access_denied", "denied"):
        raise exceptions.AccessDenied()
    detail = f"{exceptions.ProviderError.default_detail} {error}"
    if description:
        detail = f"{detail}: {description}"
    raise exceptions.ProviderError(detail)


@contextlib.contextmanager
def provider_errors(provider):
    """Turn provider client errors raised inside the block into API errors."""
    try:
        yield
    except TokenExchangeError as exc:
        logger.warning("Token exchange rejected provider=%s error=%s", provider.name, exc.error)
        detail = f"{exceptions.TokenExchangeFailed.default_detail} {exc.error}"
        if exc.description:
            detail = f"{detail}: {exc.description}"
        raise exceptions.TokenExchangeFailed(detail) from exc
    except ProviderTimeoutError as exc:
        raise exceptions.ProviderTimeout() from exc
    except ProviderRequestError as exc:
        logger.warning("Provider request failed provider=%s reason=%s", provider.name, exc)
        raise exceptions.ProviderUnavailable() from exc
    except oidc.IDTokenError as exc:
        logger.warning("ID token rejected provider=%s check=%s reason=%s", provider.name, exc.check, exc)
        detail = f"{exceptions.InvalidIDToken.default_detail} Failed check: {exc.check}."
        raise exceptions.InvalidIDToken(detail) from exc
    except IdentifierNotFound as exc:
        logger.warning("Identifier missing provider=%s path=%s reason=%s",
                       provider.name, provider.effective_identifier_path, exc)
        raise exceptions.IdentifierMissing() from exc


def check_authorization_issuer(provider, iss):
    """RFC 9207 §2.4: reject an authorization response whose ``iss`` names another issuer.

    Checked before the code is sent anywhere, so a code from a mixed-up provider never reaches this one.
    """
    if iss and not oidc.issuer_matches(provider, iss):
        logger.warning("Authorization response from another issuer provider=%s", provider.name)
        raise exceptions.IssuerMismatch()


def check_callback_parameters(client, callback):
    """Reject a callback without the fields its protocol needs, before its state is used up."""
    if callback.get("error"):
        return
    missing = [name for name in client.callback_parameters if not callback.get(name)]
    if missing:
        raise ValidationError(
            {name: [ErrorDetail(_("This field is required."), code="required")] for name in missing}
        )


def complete_authorization(provider, *, state, code_verifier="", error="", error_description="", **callback):
    """Finish a flow: exchange the callback's code or verifier, read the profile, link the user, issue JWTs."""
    client = get_client(provider)
    check_callback_parameters(client, {"error": error, **callback})

    pending = consume_state(provider, state)
    if error:
        logger.info("Authorization ended with a provider error provider=%s error=%s", provider.name, error)
        raise_provider_redirect_error(error, error_description)
    check_binding(pending, code_verifier)
    check_authorization_issuer(provider, callback.get("iss"))

    with provider_errors(provider):
        token = client.finish_authorization(pending, callback)
        id_token_claims = oidc.verify_id_token(provider, pending, token)
        profile = client.get_profile(token)
        oidc.check_userinfo_subject(id_token_claims, profile)
        details = read_profile(profile, provider)

    result = link_identity(provider, details, token, link_user=pending.user)
    tokens = issue_tokens(result.user)
    logger.info("Authorization completed provider=%s user=%s account=%s user_created=%s account_created=%s",
                provider.name, result.user.pk, result.account.pk, result.user_created, result.account_created)
    return CompletedAuthorization(
        access=tokens.access,
        refresh=tokens.refresh,
        user=result.user,
        account=result.account,
        user_created=result.user_created,
        account_created=result.account_created,
    )
