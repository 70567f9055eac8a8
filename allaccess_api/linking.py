"""Linking a provider identity to a local user: find, link or create.

Users are matched by (provider, identifier) only, never by email: an email
address at one provider proves nothing about who owns the local account.
"""

import logging
import re
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from allaccess_api import exceptions
from allaccess_api.models import AccountAccess, AccountStatus
from allaccess_api.settings import api_settings

logger = logging.getLogger(__name__)

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")
MAX_USERNAME_ATTEMPTS = 20


@dataclass(frozen=True)
class LinkResult:
    user: object
    account: AccountAccess
    user_created: bool
    account_created: bool


def link_identity(provider, details, token, *, link_user=None):
    """Store ``token`` for the identity in ``details`` and return its user.

    Two first sign-ins of one identity can race to insert the same account.
    The losing transaction is rolled back and tried once more, and then it
    finds the account the other one created.
    """
    try:
        with transaction.atomic():
            return _link_identity(provider, details, token, link_user)
    except IntegrityError:
        logger.info("Concurrent link of one identity, retrying provider=%s", provider.name)
        with transaction.atomic():
            return _link_identity(provider, details, token, link_user)


def _link_identity(provider, details, token, link_user):
    account = (
        AccountAccess.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, identifier=details.identifier)
        .first()
    )

    user_created = False
    if link_user is not None:
        user = link_user
        if account is not None and account.user_id != user.pk:
            raise exceptions.AccountInUse()
    elif account is not None:
        user = account.user
    else:
        if not api_settings.SIGNUP_OPEN:
            raise exceptions.SignupClosed()
        user = create_user(provider, details)
        user_created = True
    if not user.is_active:
        raise exceptions.InactiveUser()

    account_created = account is None
    if account_created:
        account = AccountAccess(provider=provider, identifier=details.identifier, user=user)
    store_token(account, token)
    account.status = AccountStatus.ACTIVE
    account.save()

    if not user_created:
        update_user_details(user, details)
    return LinkResult(user, account, user_created, account_created)


def store_token(account, token):
    """Copy a new token onto ``account``, keeping the stored refresh token when none came."""
    account.access_token = token.access_token
    account.token_type = token.token_type
    account.expires_at = token.expires_at
    account.scope = token.scope
    account.token_secret = token.token_secret
    if token.refresh_token:
        account.refresh_token = token.refresh_token


def _model_fields(model):
    return {field.name for field in model._meta.get_fields()}


def create_user(provider, details):
    """Create a user with a unique username, the profile's names and its verified email."""
    user_model = get_user_model()
    fields = _model_fields(user_model)
    values = {user_model.USERNAME_FIELD: unique_username(details.username_hint or f"{provider.name}-{details.identifier}")}
    for name in ("first_name", "last_name", "email"):
        if name in fields and name != user_model.USERNAME_FIELD:
            values[name] = getattr(details, name)

    user = user_model(**values)
    user.set_unusable_password()
    user.save()
    return user


def unique_username(hint):
    """Return a username derived from ``hint`` that no user has (case-insensitively)."""
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    max_length = user_model._meta.get_field(field).max_length or 150
    base = _USERNAME_UNSAFE.sub("", hint)[: max_length - 8] or "user"

    candidate = base
    for number in range(2, MAX_USERNAME_ATTEMPTS + 2):
        if not user_model.objects.filter(**{f"{field}__iexact": candidate}).exists():
            return candidate
        candidate = f"{base}{number}"
    return f"{base}-{secrets.token_hex(3)}"


def update_user_details(user, details):
    """Refresh names from a later sign-in, never replacing a stored value with an empty one."""
    fields = _model_fields(type(user))
    changed = []
    for name in ("first_name", "last_name"):
        value = getattr(details, name)
        if name in fields and value and getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if "email" in fields and details.email and not user.email:
        user.email = details.email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
