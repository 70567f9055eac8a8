"""Create the provider's signing key, database tables, test user and OAuth client.

Only ``write_rsa_private_key`` works before ``django.setup()``. The other functions use
Django models and need a configured Django. The test user, whose ``email`` is also
released as a verified address, is saved by ``demo.common.provisioning``.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from demo.common.provisioning import UserSpec, migrate_database, save_user

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048


@dataclass(frozen=True)
class ClientSpec:
    """Confidential OAuth client that uses the authorization-code grant with RS256 ID tokens."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]


def write_rsa_private_key(path: Path) -> bool:
    """Write a new RSA private key as unencrypted PKCS#8 PEM unless ``path`` exists.

    The file is created with mode 0600. Returns whether a key was written.
    """
    if path.exists():
        return False

    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL makes a concurrent `setup` fail here instead of overwriting a key in use.
    file_descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(file_descriptor, "wb") as key_file:
        key_file.write(pem)
    return True


def save_client(spec: ClientSpec):
    """Create the OAuth client or update its settings and secret, and return it.

    The plaintext secret is assigned before ``save()``, where DOT's ClientSecretField
    hashes it because ``hash_client_secret`` is True. The token endpoint then checks
    the plaintext that clients send against that hash.
    Raises ``django.core.exceptions.ValidationError`` for an invalid redirect URI.
    """
    from oauth2_provider.models import get_application_model

    application_model = get_application_model()
    application = application_model.objects.filter(client_id=spec.client_id).first()
    if application is None:
        application = application_model(client_id=spec.client_id)

    application.name = spec.name
    application.client_type = application_model.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = application_model.GRANT_AUTHORIZATION_CODE
    application.algorithm = application_model.RS256_ALGORITHM
    application.skip_authorization = False
    application.redirect_uris = " ".join(spec.redirect_uris)
    application.hash_client_secret = True
    application.client_secret = spec.client_secret
    application.full_clean()
    application.save()
    return application


def provision(user_spec: UserSpec, client_spec: ClientSpec) -> None:
    """Migrate the database, then create or update the test user and the OAuth client."""
    migrate_database()
    user = save_user(user_spec)
    application = save_client(client_spec)
    logger.info("Saved user %s (id %s)", user.get_username(), user.pk)
    logger.info(
        "Saved client %s with redirect URIs %s",
        application.client_id,
        " ".join(client_spec.redirect_uris),
    )
