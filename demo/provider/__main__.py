"""Command line of the local OpenID Connect provider: ``python -m demo.provider setup|serve``."""

import argparse
import logging
from pathlib import Path

from demo.common import cli
from demo.provider import provisioning

logger = logging.getLogger("demo.provider")

SETTINGS_MODULE = "demo.provider.settings"
PASSWORD_ENV = "DEMO_PROVIDER_PASSWORD"
CLIENT_SECRET_ENV = "DEMO_PROVIDER_CLIENT_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser, setup = cli.build_parser(
        "python -m demo.provider",
        "Set up and serve a local OpenID Connect provider (django-oauth-toolkit) on 127.0.0.1.",
        setup_help="Create the database, signing key, test user and OAuth client. Safe to run again.",
        password_env=PASSWORD_ENV,
        add_storage_arguments=_add_storage_arguments,
    )
    setup.add_argument("--client-id", required=True, help="Client ID of the confidential OAuth client.")
    cli.add_client_arguments(setup, secret_env=CLIENT_SECRET_ENV, shown_on="consent page")
    cli.add_uri_argument(setup, "--redirect-uri", "Allowed redirect URI of the client.")
    return parser


def _add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_database_argument(parser)
    parser.add_argument(
        "--key",
        type=Path,
        required=True,
        help="Path of the PEM file with the RSA private key that signs ID tokens.",
    )


def configure_django(database: Path, rsa_key: Path) -> None:
    """Point Django at the provider's settings, database and key, then set it up."""
    cli.configure_django(SETTINGS_MODULE, {"DEMO_PROVIDER_DB": database, "DEMO_PROVIDER_RSA_KEY": rsa_key})


def run_setup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    password, client_secret = cli.setup_secrets(
        parser, args, password_env=PASSWORD_ENV, client_secret_env=CLIENT_SECRET_ENV
    )

    args.db.parent.mkdir(parents=True, exist_ok=True)
    if provisioning.write_rsa_private_key(args.key):
        logger.info("Wrote a new RSA private key to %s", args.key)
    configure_django(args.db, args.key)

    client_spec = provisioning.ClientSpec(
        client_id=args.client_id,
        client_secret=client_secret,
        name=args.client_name,
        redirect_uris=tuple(args.redirect_uris),
    )
    cli.provision_or_exit(parser, lambda: provisioning.provision(cli.user_spec(args, password), client_spec))


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    cli.check_serve_files(parser, args.port, {"database": args.db, "RSA private key": args.key})
    configure_django(args.db, args.key)
    cli.serve_or_exit(parser, args)


def main(argv: list[str] | None = None) -> None:
    cli.run(build_parser(), {"setup": run_setup, "serve": run_serve}, argv)


if __name__ == "__main__":
    main()
