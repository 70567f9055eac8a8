"""Create, update, list and remove providers from the command line."""

import argparse
import re
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import ProtectedError

from allaccess_api.clients.oauth2 import split_scope
from allaccess_api.models import Protocol, Provider, TokenAuthMethod

# RFC 9110 §5.6.2: a header name is a token.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

# Options of ``set`` that map one to one onto a model field.
FIELD_OPTIONS = {
    "protocol": "protocol",
    "display_name": "display_name",
    "authorization_url": "authorization_url",
    "access_token_url": "access_token_url",
    "request_token_url": "request_token_url",
    "profile_url": "profile_url",
    "api_base_url": "api_base_url",
    "identifier_path": "identifier_path",
    "client_id": "client_id",
    "token_auth_method": "token_auth_method",
    "pkce": "pkce",
    "enabled": "enabled",
    "trust_email": "trust_email",
}


def parse_api_header(text):
    """Parse ``"Name: value"`` into a (name, value) pair."""
    name, separator, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not separator or not HEADER_NAME.match(name):
        raise CommandError(f"--api-header must look like 'Name: value', got {text!r}.")
    if "\r" in value or "\n" in value:
        raise CommandError(f"--api-header value for {name!r} must be one line.")
    return name, value


class Command(BaseCommand):
    help = "Manage sign-in providers: set (create or update), list, remove."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="action", required=True)

        set_parser = subcommands.add_parser("set", help="Create or update a provider.")
        set_parser.add_argument("name", help="Provider name used in URLs (a slug), e.g. github.")
        set_parser.add_argument("--protocol", choices=Protocol.values)
        set_parser.add_argument("--display-name", help="Name shown to users.")
        set_parser.add_argument("--authorization-url", help="Where users grant access.")
        set_parser.add_argument("--access-token-url", help="Token endpoint.")
        set_parser.add_argument("--request-token-url", help="OAuth 1.0a request token endpoint.")
        set_parser.add_argument("--profile-url", help="Returns the signed-in user's profile as JSON.")
        set_parser.add_argument("--api-base-url", help="Prefix of every URL the proxy may call.")
        set_parser.add_argument("--identifier-path",
                                help="Dotted path to the user id in the profile (default: sub for oidc, id otherwise).")
        set_parser.add_argument("--scope", help='Default scopes, separated by spaces or commas: "a b".')
        set_parser.add_argument("--client-id")
        set_parser.add_argument("--client-secret", help="Client secret; '-' reads it from standard input.")
        set_parser.add_argument("--token-auth-method", choices=TokenAuthMethod.values)
        set_parser.add_argument("--api-header", action="append", metavar='"NAME: VALUE"',
                                help="Header sent with every profile and API request; repeat for more. "
                                     "Given headers replace the stored ones.")
        set_parser.add_argument("--pkce", action=argparse.BooleanOptionalAction, help="Send a PKCE challenge (default on).")
        set_parser.add_argument("--legacy-oauth1", action="store_true", default=None,
                                help="Accept OAuth 1.0 request-token responses without oauth_callback_confirmed.")
        set_parser.add_argument("--trust-email", action=argparse.BooleanOptionalAction,
                                help="Keep profile emails even when not marked verified.")
        enable = set_parser.add_mutually_exclusive_group()
        enable.add_argument("--enable", dest="enabled", action="store_true", default=None)
        enable.add_argument("--disable", dest="enabled", action="store_false")

        subcommands.add_parser("list", help="List providers.")

        remove_parser = subcommands.add_parser("remove", help="Delete a provider that has no linked accounts.")
        remove_parser.add_argument("name")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "set":
            self.set_provider(options)
        elif action == "list":
            self.list_providers()
        else:
            self.remove_provider(options["name"])

    def set_provider(self, options):
        provider = Provider.objects.filter(name=options["name"]).first()
        created = provider is None
        if created:
            provider = Provider(name=options["name"])

        for option, field in FIELD_OPTIONS.items():
            if options.get(option) is not None:
                setattr(provider, field, options[option])
        if options.get("legacy_oauth1"):
            provider.legacy_oauth1 = True
        if options.get("scope") is not None:
            provider.scope = split_scope(options["scope"])
        if options.get("api_header"):
            provider.api_headers = dict(parse_api_header(text) for text in options["api_header"])
        if options.get("client_secret") is not None:
            provider.client_secret = self.read_secret(options["client_secret"])

        try:
            provider.full_clean()
        except ValidationError as exc:
            raise CommandError(self.format_errors(exc)) from exc
        provider.save()

        verb = "Created" if created else "Updated"
        state = "enabled" if provider.is_enabled else "disabled (needs client id and secret, or --enable)"
        self.stdout.write(f"{verb} provider {provider.name!r} ({provider.protocol}), {state}.")

    def read_secret(self, value):
        if value != "-":
            return value
        return sys.stdin.readline().strip()

    def format_errors(self, exc):
        lines = ["Invalid provider settings:"]
        for field, messages in exc.message_dict.items():
            option = "--" + field.replace("_", "-")
            lines.extend(f"  {option}: {message}" for message in messages)
        return "\n".join(lines)

    def list_providers(self):
        providers = list(Provider.objects.all())
        if not providers:
            self.stdout.write("No providers. Add one with: manage.py providers set NAME ...")
            return
        for provider in providers:
            state = "enabled" if provider.is_enabled else "disabled"
            self.stdout.write(
                f"{provider.name}\t{provider.protocol}\t{state}\tclient_id={provider.client_id or '-'}\t"
                f"{provider.authorization_url}"
            )

    def remove_provider(self, name):
        provider = Provider.objects.filter(name=name).first()
        if provider is None:
            raise CommandError(f"No provider named {name!r}.")
        try:
            provider.delete()
        except ProtectedError as exc:
            count = provider.accounts.count()
            raise CommandError(
                f"Provider {name!r} has {count} linked accounts and was not removed. "
                f"Disable it instead: manage.py providers set {name} --disable"
            ) from exc
        self.stdout.write(f"Removed provider {name!r}.")

