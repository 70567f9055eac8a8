"""Command-line pieces shared by ``python -m demo.provider`` and ``python -m demo.oauth1_provider``.

Both commands have a ``setup`` subcommand, which creates the database, the test user and
the client, and a ``serve`` subcommand, which serves the provider on 127.0.0.1.
"""

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import django
from django.core.exceptions import ValidationError

from demo.common.provisioning import UserSpec
from demo.provider.server import ListenError, serve

CommandHandler = Callable[[argparse.Namespace, argparse.ArgumentParser], None]


def build_parser(
    prog: str,
    description: str,
    *,
    setup_help: str,
    password_env: str,
    add_storage_arguments: Callable[[argparse.ArgumentParser], None],
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Return the parser and its ``setup`` subparser, with the options that both providers share.

    ``add_storage_arguments`` adds the options of the provider's files, such as ``--db``, to
    both subcommands. The caller adds the client options to the returned ``setup`` subparser.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser("setup", help=setup_help)
    add_storage_arguments(setup)
    add_user_arguments(setup, password_env)

    serve = commands.add_parser("serve", help="Serve the provider on 127.0.0.1 until SIGTERM or SIGINT.")
    add_storage_arguments(serve)
    add_serve_arguments(serve)
    return parser, setup


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, required=True, help="Path of the provider's SQLite database file.")


def add_user_arguments(parser: argparse.ArgumentParser, password_env: str) -> None:
    """Add the options of the test user: username, password, names and email."""
    parser.add_argument("--username", required=True, help="Username of the test user.")
    parser.add_argument(
        "--password",
        help=f"Password of the test user. Defaults to ${password_env}, which keeps it out of the process list.",
    )
    parser.add_argument("--first-name", default="Ada", help="Given name of the test user (default: %(default)s).")
    parser.add_argument(
        "--last-name", default="Lovelace", help="Family name of the test user (default: %(default)s)."
    )
    parser.add_argument("--email", help="Email address of the test user (default: USERNAME@example.com).")


def add_client_arguments(parser: argparse.ArgumentParser, *, secret_env: str, shown_on: str) -> None:
    """Add the client's secret and name. ``shown_on`` names the page that shows the name."""
    parser.add_argument("--client-secret", help=f"Client secret of the OAuth client. Defaults to ${secret_env}.")
    parser.add_argument(
        "--client-name",
        default="allaccess-api demo",
        help=f"Client name shown on the {shown_on} (default: %(default)s).",
    )


def add_uri_argument(parser: argparse.ArgumentParser, option: str, help_text: str) -> None:
    """Add a required, repeatable URI option such as ``--redirect-uri``, whose values go to ``redirect_uris``."""
    parser.add_argument(
        option,
        dest=option.removeprefix("--").replace("-", "_") + "s",
        action="append",
        required=True,
        metavar="URI",
        help=f"{help_text} Repeat the option for several URIs.",
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--port`` and ``--exit-with-parent``."""
    parser.add_argument(
        "--port",
        type=int,
        required=True,
        help="TCP port on 127.0.0.1. 0 picks a free port, which the ready line reports.",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="Also stop when the parent process exits (used by the test harness).",
    )


def setup_secrets(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, password_env: str, client_secret_env: str
) -> tuple[str, str]:
    """Return the test user's password and the client secret, from the options or else the environment.

    Exits with a usage error when either is missing from both.
    """
    password = args.password or os.environ.get(password_env, "")
    if not password:
        parser.error(f"the test user's password is missing: pass --password or set {password_env}")
    client_secret = args.client_secret or os.environ.get(client_secret_env, "")
    if not client_secret:
        parser.error(f"the client secret is missing: pass --client-secret or set {client_secret_env}")
    return password, client_secret


def user_spec(args: argparse.Namespace, password: str) -> UserSpec:
    """Return the test user that the ``setup`` options describe."""
    return UserSpec(
        username=args.username,
        password=password,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email or f"{args.username}@example.com",
    )


def configure_django(settings_module: str, environment: dict[str, Path]) -> None:
    """Point Django at the provider's settings, set the settings' path variables, then set it up.

    ``environment`` maps variable names to paths, which are stored resolved.
    DJANGO_SETTINGS_MODULE is overwritten because a parent process, such as pytest with
    pytest-django, may have set it to the product's settings.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    for name, path in environment.items():
        os.environ[name] = str(path.resolve())
    django.setup()


def provision_or_exit(parser: argparse.ArgumentParser, provision: Callable[[], None]) -> None:
    """Call ``provision``, and exit with status 2 and the invalid fields if it raises ``ValidationError``."""
    try:
        provision()
    except ValidationError as error:
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
        parser.exit(2, f"setup failed: {problems}\n")


def check_serve_files(parser: argparse.ArgumentParser, port: int, files: dict[str, Path]) -> None:
    """Exit with a usage error for a port out of range or a missing file that ``setup`` creates.

    ``files`` maps a description such as "database" to its path.
    """
    if not 0 <= port <= 65535:
        parser.error(f"--port {port} is invalid: expected 0 to 65535")
    for description, path in files.items():
        if not path.is_file():
            parser.error(f"{description} {path} not found: run `{parser.prog} setup` first")


def serve_or_exit(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Serve the configured Django application, and exit with status 1 if the port cannot be bound."""
    try:
        serve(args.port, exit_with_parent=args.exit_with_parent)
    except ListenError as error:
        parser.exit(1, f"serve failed: {error}. Choose another --port, or 0 for any free port.\n")


def run(parser: argparse.ArgumentParser, handlers: dict[str, CommandHandler], argv: list[str] | None) -> None:
    """Log to stderr, parse ``argv`` and call the handler of the chosen subcommand."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parser.parse_args(argv)
    handlers[args.command](args, parser)
