"""Authenticated encryption of tokens and secrets at rest, with key rotation.

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under a
``MultiFernet`` key list: the first key encrypts, every key decrypts, so a new
key can be put first while old rows stay readable.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

from allaccess_api.settings import api_settings


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def derive_key(secret_key):
    """Derive a Fernet key from Django's SECRET_KEY (used when no key is configured)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"allaccess_api.crypto",
        info=b"fernet key",
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def configured_keys():
    """Return the Fernet keys in use, newest first."""
    keys = [key.strip() for key in api_settings.ENCRYPTION_KEYS if key.strip()]
    if keys:
        return tuple(keys)
    return (derive_key(settings.SECRET_KEY).decode(),)


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys):
    return MultiFernet([Fernet(key) for key in keys])


def get_fernet():
    """Return the ``MultiFernet`` for the current key list."""
    return _multi_fernet(configured_keys())


def encrypt(value):
    """Encrypt text; the result is URL-safe ASCII."""
    return get_fernet().encrypt(value.encode()).decode()


def decrypt(value):
    """Decrypt what ``encrypt`` returned, with whichever configured key fits."""
    try:
        return get_fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret could not be decrypted: its key is no longer in "
            "ALLACCESS_ENCRYPTION_KEYS."
        ) from exc


def rotate(value):
    """Re-encrypt a stored value under the newest key."""
    return get_fernet().rotate(value.encode()).decode()


class EncryptedTextField(models.TextField):
    """Text field stored encrypted and read back as plaintext.

    The empty string is stored as is, so "no secret" can be queried.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        # NOTE: a row under a removed key raises DecryptionError on load (a 500 in a view);
        # run rotate_encryption_keys before removing a key.
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
