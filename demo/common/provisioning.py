"""Create a demo provider's database tables and its test user.

These functions use Django models and need a configured Django.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class UserSpec:
    """Test user of a demo provider."""

    username: str
    password: str
    first_name: str
    last_name: str
    email: str


def migrate_database(*, run_syncdb: bool = False) -> None:
    """Create or upgrade the provider's tables in the configured SQLite database.

    ``run_syncdb`` also creates the tables of apps without migrations.
    """
    from django.core.management import call_command

    call_command("migrate", interactive=False, run_syncdb=run_syncdb, verbosity=0)


def save_user(spec: UserSpec):
    """Create the user or update its names, email and password, and return it.

    Raises ``django.core.exceptions.ValidationError`` for an invalid username or email.
    """
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
