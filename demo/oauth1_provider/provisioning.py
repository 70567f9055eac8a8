"""Create the provider's database tables, test user and OAuth 1.0a client.

These functions use Django models and need a configured Django.
"""

import logging
from dataclasses import dataclass

from demo.common.provisioning import UserSpec, migrate_database, save_user

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientSpec:
    """OAuth 1.0a client with its key, secret and allowed callback URIs (compared without query)."""

    client_key: str
    client_secret: str
    name: str
    callback_uris: tuple[str, ...]


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
    # The provider's own app has no migrations, so syncdb creates its tables.
    migrate_database(run_syncdb=True)
    user = save_user(user_spec)
    client = save_client(client_spec)
    logger.info("Saved user %s (id %s)", user.get_username(), user.pk)
    logger.info("Saved client %s with callback URIs %s", client.client_key, " ".join(client_spec.callback_uris))
