"""Tests of token encryption at rest: round trips, key rotation, raw columns and the key checks."""

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.db import connection

from allaccess_api.crypto import DecryptionError, decrypt, derive_key, encrypt, rotate
from allaccess_api.models import AccountAccess, PendingAuthorization, Provider
from tests.conftest import CLIENT_SECRET

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()

ACCESS_TOKEN = "gho_plaintext-access-token-1"
REFRESH_TOKEN = "ghr_plaintext-refresh-token-1"
TOKEN_SECRET = "plaintext-oauth1-token-secret-1"


def use_keys(settings, keys):
    settings.ALLACCESS_API = {**settings.ALLACCESS_API, "ENCRYPTION_KEYS": keys}


def raw_rows(model):
    """Return every row of ``model``'s table as read by plain SQL, bypassing field conversion."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def raw_text(model):
    """Return all cells of ``model``'s table joined into one string, for substring searches."""
    return "\n".join(str(value) for row in raw_rows(model) for value in row.values())


def check_ids(**kwargs):
    """Return the ids of the product's system check messages."""
    return [message.id for message in run_checks(**kwargs) if message.id.startswith("allaccess_api.")]


@pytest.fixture
def account(provider):
    user = get_user_model().objects.create_user("octocat")
    return AccountAccess.objects.create(
        provider=provider,
        identifier="583231",
        user=user,
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        token_secret=TOKEN_SECRET,
    )


# Round trips


def test_encrypt_round_trip():
    assert decrypt(encrypt("tök€n \u05e9\u05dc\u05d5\u05dd \U0001f511")) == "tök€n \u05e9\u05dc\u05d5\u05dd \U0001f511"


def test_encrypt_hides_plaintext():
    encrypted = encrypt(ACCESS_TOKEN)

    assert ACCESS_TOKEN not in encrypted


def test_encrypt_uses_first_key(settings):
    use_keys(settings, [NEW_KEY, OLD_KEY])

    encrypted = encrypt(ACCESS_TOKEN)

    assert Fernet(NEW_KEY).decrypt(encrypted.encode()).decode() == ACCESS_TOKEN


def test_decrypt_garbage_raises():
    with pytest.raises(DecryptionError):
        decrypt("not-a-fernet-token")


def test_model_field_round_trip(account):
    stored = AccountAccess.objects.get(pk=account.pk)

    assert stored.access_token == ACCESS_TOKEN
    assert stored.refresh_token == REFRESH_TOKEN
    assert stored.token_secret == TOKEN_SECRET


# Key rotation


def test_old_key_still_decrypts(settings):
    use_keys(settings, [OLD_KEY])
    encrypted = encrypt(ACCESS_TOKEN)

    use_keys(settings, [NEW_KEY, OLD_KEY])

    assert decrypt(encrypted) == ACCESS_TOKEN


def test_old_key_reads_stored_account(settings, provider):
    use_keys(settings, [OLD_KEY])
    user = get_user_model().objects.create_user("octocat")
    account = AccountAccess.objects.create(provider=provider, identifier="1", user=user, access_token=ACCESS_TOKEN)

    use_keys(settings, [NEW_KEY, OLD_KEY])

    assert AccountAccess.objects.get(pk=account.pk).access_token == ACCESS_TOKEN


def test_rotate_reencrypts_under_new_key(settings):
    use_keys(settings, [OLD_KEY])
    encrypted = encrypt(ACCESS_TOKEN)
    use_keys(settings, [NEW_KEY, OLD_KEY])

    rotated = rotate(encrypted)

    assert rotated != encrypted
    assert Fernet(NEW_KEY).decrypt(rotated.encode()).decode() == ACCESS_TOKEN


def test_rotated_value_decrypts_without_old_key(settings):
    use_keys(settings, [OLD_KEY])
    encrypted = encrypt(ACCESS_TOKEN)
    use_keys(settings, [NEW_KEY, OLD_KEY])
    rotated = rotate(encrypted)

    use_keys(settings, [NEW_KEY])

    assert decrypt(rotated) == ACCESS_TOKEN


def test_removed_key_raises_decryption_error(settings):
    use_keys(settings, [OLD_KEY])
    encrypted = encrypt(ACCESS_TOKEN)

    use_keys(settings, [NEW_KEY])

    with pytest.raises(DecryptionError):
        decrypt(encrypted)


def test_removed_key_error_names_setting(settings):
    use_keys(settings, [OLD_KEY])
    encrypted = encrypt(ACCESS_TOKEN)
    use_keys(settings, [NEW_KEY])

    with pytest.raises(DecryptionError) as excinfo:
        decrypt(encrypted)

    assert "ALLACCESS_ENCRYPTION_KEYS" in str(excinfo.value)
    assert ACCESS_TOKEN not in str(excinfo.value)


# Key derived from SECRET_KEY


def test_no_keys_derives_key_from_secret_key(settings):
    use_keys(settings, [])

    encrypted = encrypt(ACCESS_TOKEN)

    assert Fernet(derive_key(settings.SECRET_KEY)).decrypt(encrypted.encode()).decode() == ACCESS_TOKEN


def test_derived_key_changes_with_secret_key(settings):
    use_keys(settings, [])
    encrypted = encrypt(ACCESS_TOKEN)

    settings.SECRET_KEY = "another-secret-key-for-this-test-only"

    with pytest.raises(DecryptionError):
        decrypt(encrypted)


def test_blank_keys_fall_back_to_derived_key(settings):
    use_keys(settings, ["  "])

    encrypted = encrypt(ACCESS_TOKEN)

    assert Fernet(derive_key(settings.SECRET_KEY)).decrypt(encrypted.encode()).decode() == ACCESS_TOKEN


# Raw database columns


def test_raw_account_hides_tokens(account):
    text = raw_text(AccountAccess)

    assert ACCESS_TOKEN not in text
    assert REFRESH_TOKEN not in text
    assert TOKEN_SECRET not in text


def test_raw_account_holds_ciphertext(account):
    row = raw_rows(AccountAccess)[0]

    assert decrypt(row["access_token"]) == ACCESS_TOKEN
    assert decrypt(row["refresh_token"]) == REFRESH_TOKEN
    assert decrypt(row["token_secret"]) == TOKEN_SECRET


def test_raw_provider_hides_client_secret(provider):
    text = raw_text(Provider)

    assert CLIENT_SECRET not in text


def test_raw_provider_holds_ciphertext(provider):
    row = raw_rows(Provider)[0]

    assert decrypt(row["client_secret"]) == CLIENT_SECRET


def test_raw_pending_hides_verifier_and_nonce(start_flow, oidc_provider):
    start_flow(oidc_provider)
    pending = PendingAuthorization.objects.get()
    assert pending.pkce_verifier
    assert pending.nonce

    text = raw_text(PendingAuthorization)

    assert pending.pkce_verifier not in text
    assert pending.nonce not in text


def test_raw_pending_holds_ciphertext(start_flow, oidc_provider):
    start_flow(oidc_provider)
    pending = PendingAuthorization.objects.get()

    row = raw_rows(PendingAuthorization)[0]

    assert decrypt(row["pkce_verifier"]) == pending.pkce_verifier
    assert decrypt(row["nonce"]) == pending.nonce


def test_raw_pending_hides_state(start_flow, oidc_provider):
    flow = start_flow(oidc_provider)

    text = raw_text(PendingAuthorization)

    assert flow.state not in text


def test_empty_secret_stored_as_empty_string(provider):
    user = get_user_model().objects.create_user("octocat")
    AccountAccess.objects.create(provider=provider, identifier="1", user=user, access_token=ACCESS_TOKEN)

    row = raw_rows(AccountAccess)[0]

    assert row["refresh_token"] == ""
    assert row["token_secret"] == ""


# System checks


def test_w001_warns_without_keys(settings):
    use_keys(settings, [])

    assert "allaccess_api.W001" in check_ids(include_deployment_checks=True)


def test_w001_silent_with_keys(settings):
    use_keys(settings, [NEW_KEY, OLD_KEY])

    assert "allaccess_api.W001" not in check_ids(include_deployment_checks=True)


def test_w001_only_in_deploy_checks(settings):
    use_keys(settings, [])

    assert "allaccess_api.W001" not in check_ids()


@pytest.mark.parametrize(
    "key",
    [
        "not-a-fernet-key",
        # 16 random bytes, base64: valid base64 but half the length of a Fernet key.
        "q83vEjRWeJCrze8SNFZ4kA==",
        # A valid key with one character outside the url-safe base64 alphabet.
        "hJYSyKVj0yGoRsUN2f0DfmkXDDrWAFO5NVqTxA9rme*=",
    ],
)
def test_e001_errors_on_malformed_key(settings, key):
    use_keys(settings, [NEW_KEY, key])

    assert check_ids().count("allaccess_api.E001") == 1


def test_e001_names_key_position(settings):
    use_keys(settings, [NEW_KEY, "not-a-fernet-key"])

    errors = [message for message in run_checks() if message.id == "allaccess_api.E001"]

    assert len(errors) == 1
    assert "number 2" in errors[0].msg
    assert "not-a-fernet-key" not in errors[0].msg


def test_e001_silent_with_valid_keys(settings):
    use_keys(settings, [NEW_KEY, OLD_KEY])

    assert "allaccess_api.E001" not in check_ids()
