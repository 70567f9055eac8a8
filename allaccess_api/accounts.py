"""A user's linked accounts: look-up, unlinking and token revocation at the provider."""

import logging
from urllib.parse import urlencode

from django.db import transaction
from rest_framework.exceptions import NotFound

from allaccess_api import exceptions
from allaccess_api.clients.exceptions import ProviderRequestError
from allaccess_api.clients.session import get_session
from allaccess_api.models import AccountAccess, Protocol, TokenAuthMethod

logger = logging.getLogger(__name__)


def user_accounts(user):
    """Return the accounts linked to ``user``, with their providers."""
    return AccountAccess.objects.filter(user=user).select_related("provider")


def get_user_account(user, account_id):
    """Return ``user``'s account ``account_id``; anyone else's account is ``NotFound``, as a missing one is."""
    account = user_accounts(user).filter(pk=account_id).first()
    if account is None:
        raise NotFound()
    return account


def unlink_account(user, account_id):
    """Delete ``user``'s account ``account_id``, then revoke its tokens at the provider.

    The user's accounts are locked while the last-login-method rule is checked,
    so two simultaneous unlinks cannot remove the last two accounts together.
    """
    with transaction.atomic():
        accounts = list(user_accounts(user).select_for_update(of=("self",)))
        account = next((item for item in accounts if item.pk == account_id), None)
        if account is None:
            raise NotFound()
        if len(accounts) == 1 and not user.has_usable_password():
            raise exceptions.LastLoginMethod()
        account.delete()

    logger.info("Account unlinked provider=%s user=%s account=%s", account.provider.name, user.pk, account_id)
    revoke_tokens(account)


def revoke_tokens(account):
    """Ask the provider to revoke the account's tokens (RFC 7009), logging any failure.

    The refresh token goes first: revoking it also revokes the access tokens of the
    same grant at providers that implement RFC 7009 §2.1 fully. The access token is
    revoked as well for the providers that do not.
    """
    provider = account.provider
    if not provider.revocation_url or provider.protocol == Protocol.OAUTH1:
        return
    for token, hint in ((account.refresh_token, "refresh_token"), (account.access_token, "access_token")):
        if token:
            revoke_token(provider, token, hint)


def revoke_token(provider, token, token_type_hint):
    """Send one revocation request; return whether the provider accepted it."""
    data = {"token": token, "token_type_hint": token_type_hint}
    auth = None
    if provider.token_auth_method == TokenAuthMethod.CLIENT_SECRET_BASIC:
        # RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
        auth = (urlencode({"": provider.client_id})[1:], urlencode({"": provider.client_secret})[1:])
    else:
        data.update(client_id=provider.client_id, client_secret=provider.client_secret)

    try:
        response = get_session().request("POST", provider.revocation_url, provider=provider.name, data=data,
                                         auth=auth)
    except ProviderRequestError as exc:
        logger.warning("Token revocation failed provider=%s hint=%s reason=%s", provider.name, token_type_hint, exc)
        return False
    response.close()
    if response.status_code != 200:
        logger.warning("Token revocation failed provider=%s hint=%s status=%s",
                       provider.name, token_type_hint, response.status_code)
        return False
    return True
