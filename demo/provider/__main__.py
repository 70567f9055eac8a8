"""Command line of the local OpenID Connect provider: ``python -m demo.provider setup|serve``."""

import argparse
import logging
import os
import sys
from pathlib import Path

import django
from django.core.exceptions import ValidationError

from demo.provider import provisioning
from demo.provider.server import ListenError, serve

logger = logging.getLogger("demo.provider")

SETTINGS_MODULE = "demo.provider.settings"
PASSWORD_ENV = "DEMO_PROVIDER_PASSWORD"
CLIENT_SECRET_ENV = "DEMO_PROVIDER_CLIENT_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo.provider",
        description="Set up and serve a local OpenID Connect provider (django-oauth-toolkit) on 127.0.0.1.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser(
        "setup",
        help="Create the database, signing key, test user and OAuth client. Safe to run again.",
    )
    _add_storage_arguments(setup)
    setup.add_argument("--username", required=True, help="Username of the test user.")
    setup.add_argument(
        "--password",
        help=(
            f"Password of the test user. Defaults to ${PASSWORD_ENV}, "
            "which keeps it out of the process list."
        ),
    )
    setup.add_argument(
        "--first-name",
        default="Ada",
        help="Given name of the test user (default: %(default)s).",
    )
    setup.add_argument(
        "--last-name",
        default="Lovelace",
        help="Family name of the test user (default: %(default)s).",
    )
    setup.add_argument("--email", help="Email address of the test user (default: USERNAME@example.com).")
    setup.add_argument("--client-id", required=True, help="Client ID of the confidential OAuth client.")
    setup.add_argument(
        "--client-secret",
        help=f"Client secret of the OAuth client. Defaults to ${CLIENT_SECRET_ENV}.",
    )
    setup.add_argument(
        "--client-name",
        default="allaccess-api demo",
        help="Client name shown on the consent page (default: %(default)s).",
    )
    setup.add_argument(
        "--redirect-uri",
        dest="redirect_uris",
        action="append",
        required=True,
        metavar="URI",
        help="Allowed redirect URI of the client. Repeat the option for several URIs.",
    )

    serve = commands.add_parser("serve", help="Serve the provider on 127.0.0.1 until SIGTERM or SIGINT.")
    _add_storage_arguments(serve)
    serve.add_argument(
        "--port",
        type=int,
        required=True,
        help="TCP port on 127.0.0.1. 0 picks a free port, which the ready line reports.",
    )
    serve.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="Also stop when the parent process exits (used by the test harness).",
    )
    return parser


def _add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, required=True, help="Path of the provider's SQLite database file.")
    parser.add_argument(
        "--key",
        type=Path,
        required=True,
        help="Path of the PEM file with the RSA private key that signs ID tokens.",
    )


def configure_django(database: Path, rsa_key: Path) -> None:
    """Point Django at the provider's settings, database and key, then set it up.

    DJANGO_SETTINGS_MODULE is overwritten because a parent process, such as pytest with
    pytest-django, may have set it to the product's settings.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["DEMO_PROVIDER_DB"] = str(database.resolve())
    os.environ["DEMO_PROVIDER_RSA_KEY"] = str(rsa_key.resolve())
    django.setup()


def run_setup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    password = args.password or os.environ.get(PASSWORD_ENV, "")
    if not password:
        parser.error(f"the test user's password is missing: pass --password or set {PASSWORD_ENV}")
    client_secret = args.client_secret or os.environ.get(CLIENT_SECRET_ENV, "")
    if not client_secret:
        parser.error(f"the client secret is missing: pass --client-secret or set {CLIENT_SECRET_ENV}")

    args.db.parent.mkdir(parents=True, exist_ok=True)
    if provisioning.write_rsa_private_key(args.key):
        logger.info("Wrote a new RSA private key to %s", args.key)
    configure_django(args.db, args.key)

    user_spec = provisioning.UserSpec(
        username=args.username,
        password=password,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email or f"{args.username}@example.com",
    )
    client_spec = provisioning.ClientSpec(
        client_id=args.client_id,
        client_secret=client_secret,
        name=args.client_name,
        redirect_uris=tuple(args.redirect_uris),
    )

    try:
        provisioning.provision(user_spec, client_spec)
    except ValidationError as error:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
        parser.exit(2, f"setup failed: {problems}\n")


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is invalid: expected 0 to 65535")
    if not args.db.is_file():
        parser.error(f"database {args.db} not found: run `python -m demo.provider setup` first")
    if not args.key.is_file():
        parser.error(f"RSA private key {args.key} not found: run `python -m demo.provider setup` first")
    configure_django(args.db, args.key)

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
