"""Create the provider's database tables, test user and OAuth 1.0a client.

These functions use Django models and need a configured Django.
"""

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserSpec:
    """Test user of the provider."""

    username: str
    password: str
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class ClientSpec:
    """OAuth 1.0a client with its key, secret and allowed callback URIs (compared without query)."""

    client_key: str
    client_secret: str
    name: str
    callback_uris: tuple[str, ...]


def migrate_database() -> None:
    """Create or upgrade the provider's tables. The provider's own app has no migrations."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, run_syncdb=True, verbosity=0)


def save_user(spec: UserSpec):
    """Create the user or update its names, email and password, and return it."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user = user_model.objects.filter(username=spec.username).first() or user_model(username=spec.username)
    user.first_name = spec.first_name
    user.last_name = spec.last_name
    user.email = spec.email
    user.is_active = True
    user.set_password(spec.password)
    user.full_clean()
    user.save()
    return user


def save_client(spec: ClientSpec):
    """Create the client or update its name, secret and callback URIs, and return it."""
    from demo.oauth1_provider.models import Client

    client, _created = Client.objects.update_or_create(
        client_key=spec.client_key,
        defaults={
            "client_secret": spec.client_secret,
            "name": spec.name,
            "callback_uris": "\n".join(spec.callback_uris),
        },
    )
    return client


def provision(user_spec: UserSpec, client_spec: ClientSpec) -> None:
    """Migrate the database, then create or update the test user and the client."""
    migrate_database()
    user = save_user(user_spec)
    client = save_client(client_spec)
    logger.info("Saved user %s (id %s)", user.get_username(), user.pk)
    logger.info("Saved client %s with callback URIs %s", client.client_key, " ".join(client_spec.callback_uris))
