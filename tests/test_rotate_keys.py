"""manage.py rotate_encryption_keys: retiring an old encryption key."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from allaccess_api.crypto import DecryptionError
from allaccess_api.models import AccountAccess, Provider
from tests.conftest import TEST_KEY, make_provider

pytestmark = pytest.mark.django_db
NEW_KEY = Fernet.generate_key().decode()


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def use_keys(settings, keys):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "ENCRYPTION_KEYS": keys}


def test_rotation_lets_old_key_be_removed(settings, django_user_model):
    provider = make_provider()
    user = django_user_model.objects.create_user("mona")
    account = AccountAccess.objects.create(provider=provider, identifier="1", user=user,
                                           access_token="tok-1", refresh_token="ref-1")
    use_keys(settings, [NEW_KEY, TEST_KEY])

    output = io.StringIO()
    call_command("rotate_encryption_keys", stdout=output)
    use_keys(settings, [NEW_KEY])

    account = AccountAccess.objects.get(pk=account.pk)
    assert (account.access_token, account.refresh_token) == ("tok-1", "ref-1")
    assert Provider.objects.get(pk=provider.pk).client_secret == "secret-client-value-1"
    assert "allaccess_api.AccountAccess: re-encrypted 1 rows." in output.getvalue()


def test_without_rotation_removed_key_cannot_decrypt(settings, django_user_model):
    provider = make_provider()
    use_keys(settings, [NEW_KEY])

    with pytest.raises(DecryptionError):
        Provider.objects.get(pk=provider.pk)


def test_rotation_writes_new_ciphertext(settings):
    provider = make_provider()
    before = raw_column("allaccess_api_provider", "client_secret", provider.pk)
    use_keys(settings, [NEW_KEY, TEST_KEY])

    call_command("rotate_encryption_keys", stdout=io.StringIO())

    after = raw_column("allaccess_api_provider", "client_secret", provider.pk)
    assert after != before
    assert Fernet(NEW_KEY.encode()).decrypt(after.encode()) == b"secret-client-value-1"
