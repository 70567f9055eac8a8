"""Command line of the local OAuth 1.0a provider: ``python -m demo.oauth1_provider setup|serve``."""

import argparse
import logging
import os
import sys
from pathlib import Path

import django
from django.core.exceptions import ValidationError

from demo.provider.server import ListenError, serve

logger = logging.getLogger("demo.oauth1_provider")

SETTINGS_MODULE = "demo.oauth1_provider.settings"
PASSWORD_ENV = "DEMO_OAUTH1_PROVIDER_PASSWORD"
CLIENT_SECRET_ENV = "DEMO_OAUTH1_PROVIDER_CLIENT_SECRET"
# oauthlib's check_client_key accepts only ASCII letters and digits.
CLIENT_KEY_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo.oauth1_provider",
        description="Set up and serve a local OAuth 1.0a provider (oauthlib) on 127.0.0.1.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser(
        "setup", help="Create the database, test user and OAuth 1.0a client. Safe to run again."
    )
    setup.add_argument("--db", type=Path, required=True, help="Path of the provider's SQLite database file.")
    setup.add_argument("--username", required=True, help="Username of the test user.")
    setup.add_argument(
        "--password",
        help=f"Password of the test user. Defaults to ${PASSWORD_ENV}, which keeps it out of the process list.",
    )
    setup.add_argument("--first-name", default="Ada", help="Given name of the test user (default: %(default)s).")
    setup.add_argument("--last-name", default="Lovelace", help="Family name of the test user (default: %(default)s).")
    setup.add_argument("--email", help="Email address of the test user (default: USERNAME@example.com).")
    setup.add_argument(
        "--client-key", required=True, help="Client key: 20 to 30 ASCII letters and digits, as oauthlib requires."
    )
    setup.add_argument("--client-secret", help=f"Client secret. Defaults to ${CLIENT_SECRET_ENV}.")
    setup.add_argument(
        "--client-name",
        default="allaccess-api demo",
        help="Client name shown on the authorization page (default: %(default)s).",
    )
    setup.add_argument(
        "--callback-uri",
        dest="callback_uris",
        action="append",
        required=True,
        metavar="URI",
        help="Allowed callback URI, compared without its query string. Repeat the option for several URIs.",
    )

    serve_parser = commands.add_parser("serve", help="Serve the provider on 127.0.0.1 until SIGTERM or SIGINT.")
    serve_parser.add_argument("--db", type=Path, required=True, help="Path of the provider's SQLite database file.")
    serve_parser.add_argument(
        "--port",
        type=int,
        required=True,
        help="TCP port on 127.0.0.1. 0 picks a free port, which the ready line reports.",
    )
    serve_parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="Also stop when the parent process exits (used by the test harness).",
    )
    return parser


def configure_django(database: Path) -> None:
    """Point Django at the provider's settings and database, then set it up.

    DJANGO_SETTINGS_MODULE is overwritten because a parent process, such as pytest with
    pytest-django, may have set it to the product's settings.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["DEMO_OAUTH1_PROVIDER_DB"] = str(database.resolve())
    django.setup()


def run_setup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from demo.oauth1_provider import provisioning

    password = args.password or os.environ.get(PASSWORD_ENV, "")
    if not password:
        parser.error(f"the test user's password is missing: pass --password or set {PASSWORD_ENV}")
    client_secret = args.client_secret or os.environ.get(CLIENT_SECRET_ENV, "")
    if not client_secret:
        parser.error(f"the client secret is missing: pass --client-secret or set {CLIENT_SECRET_ENV}")
    if not 20 <= len(args.client_key) <= 30 or not set(args.client_key) <= set(CLIENT_KEY_CHARACTERS):
        parser.error(f"--client-key {args.client_key!r} is invalid: expected 20 to 30 ASCII letters and digits")

    args.db.parent.mkdir(parents=True, exist_ok=True)
    configure_django(args.db)
    user_spec = provisioning.UserSpec(
        username=args.username,
        password=password,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email or f"{args.username}@example.com",
    )
    client_spec = provisioning.ClientSpec(
        client_key=args.client_key,
        client_secret=client_secret,
        name=args.client_name,
        callback_uris=tuple(args.callback_uris),
    )
    try:
        provisioning.provision(user_spec, client_spec)
    except ValidationError as error:
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
        parser.exit(2, f"setup failed: {problems}\n")


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is invalid: expected 0 to 65535")
    if not args.db.is_file():
        parser.error(f"database {args.db} not found: run `python -m demo.oauth1_provider setup` first")
    configure_django(args.db)

    try:
        serve(args.port, exit_with_parent=args.exit_with_parent)
    except ListenError as error:
        parser.exit(1, f"serve failed: {error}. Choose another --port, or 0 for any free port.\n")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "setup":
        run_setup(args, parser)
    else:
        run_serve(args, parser)


if __name__ == "__main__":
    main()
