"""Command line of the local OAuth 1.0a provider: ``python -m demo.oauth1_provider setup|serve``."""

import argparse
from pathlib import Path

from demo.common import cli
from demo.oauth1_provider import provisioning

SETTINGS_MODULE = "demo.oauth1_provider.settings"
PASSWORD_ENV = "DEMO_OAUTH1_PROVIDER_PASSWORD"
CLIENT_SECRET_ENV = "DEMO_OAUTH1_PROVIDER_CLIENT_SECRET"
# oauthlib's check_client_key accepts only ASCII letters and digits.
CLIENT_KEY_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def build_parser() -> argparse.ArgumentParser:
    parser, setup = cli.build_parser(
        "python -m demo.oauth1_provider",
        "Set up and serve a local OAuth 1.0a provider (oauthlib) on 127.0.0.1.",
        setup_help="Create the database, test user and OAuth 1.0a client. Safe to run again.",
        password_env=PASSWORD_ENV,
        add_storage_arguments=cli.add_database_argument,
    )
    setup.add_argument(
        "--client-key", required=True, help="Client key: 20 to 30 ASCII letters and digits, as oauthlib requires."
    )
    cli.add_client_arguments(setup, secret_env=CLIENT_SECRET_ENV, shown_on="authorization page")
    cli.add_uri_argument(setup, "--callback-uri", "Allowed callback URI, compared without its query string.")
    return parser


def configure_django(database: Path) -> None:
    """Point Django at the provider's settings and database, then set it up."""
    cli.configure_django(SETTINGS_MODULE, {"DEMO_OAUTH1_PROVIDER_DB": database})


def run_setup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    password, client_secret = cli.setup_secrets(
        parser, args, password_env=PASSWORD_ENV, client_secret_env=CLIENT_SECRET_ENV
    )
    if not 20 <= len(args.client_key) <= 30 or not set(args.client_key) <= set(CLIENT_KEY_CHARACTERS):
        parser.error(f"--client-key {args.client_key!r} is invalid: expected 20 to 30 ASCII letters and digits")

    args.db.parent.mkdir(parents=True, exist_ok=True)
    configure_django(args.db)
    client_spec = provisioning.ClientSpec(
        client_key=args.client_key,
        client_secret=client_secret,
        name=args.client_name,
        callback_uris=tuple(args.callback_uris),
    )
    cli.provision_or_exit(parser, lambda: provisioning.provision(cli.user_spec(args, password), client_spec))


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    cli.check_serve_files(parser, args.port, {"database": args.db})
    configure_django(args.db)
    cli.serve_or_exit(parser, args)


def main(argv: list[str] | None = None) -> None:
    cli.run(build_parser(), {"setup": run_setup, "serve": run_serve}, argv)


if __name__ == "__main__":
    main()

