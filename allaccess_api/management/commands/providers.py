"""Create, update, list and remove providers from the command line."""

import argparse
import re
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import ProtectedError

from allaccess_api import oidc
from allaccess_api.clients.oauth2 import split_scope
from allaccess_api.models import Protocol, Provider, TokenAuthMethod
from allaccess_api.presets import get_preset, preset_docs_url, preset_names
from allaccess_api.profiles import PROFILE_FIELDS

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


# Fields a preset replaces even when it leaves them out, so that switching presets leaves nothing behind.
PRESET_RESET_FIELDS = ("request_token_url", "revocation_url", "issuer", "jwks_uri", "id_token_algorithms",
                       "api_headers", "profile_fields")


def parse_profile_field(text):
    """Parse ``"field=path"`` or ``"field=path1,path2"`` into a (field, path or paths) pair."""
    field, separator, value = text.partition("=")
    field = field.strip()
    paths = [path.strip() for path in value.split(",") if path.strip()]
    if not separator or field not in PROFILE_FIELDS or not paths:
        raise CommandError(
            f"--profile-field must look like 'FIELD=dotted.path[,other.path]' with FIELD one of "
            f"{', '.join(PROFILE_FIELDS)}; got {text!r}."
        )
    return field, paths[0] if len(paths) == 1 else paths


def describe_state(provider):
    """Say whether ``provider`` is enabled and, if not, what is missing."""
    if provider.is_enabled:
        return "enabled"
    if not provider.enabled:
        return "disabled (switched off; --enable turns it on)"
    missing = [(name, option) for name, value, option in (("client id", provider.client_id, "--client-id"),
                                                        ("client secret", provider.client_secret, "--client-secret"))
               if not value]
    names = " and a ".join(name for name, _option in missing)
    options = ", ".join(option for _name, option in missing)
    return f"disabled until it has a {names} ({options})"


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
        set_parser.add_argument("--preset", choices=preset_names(),
                                help="Fill endpoints, scope and profile mapping from a known provider.")
        set_parser.add_argument("--issuer", metavar="URL",
                                help="Fill endpoints from OpenID Connect discovery at "
                                     "URL/.well-known/openid-configuration; the protocol becomes oidc.")
        set_parser.add_argument("--protocol", choices=Protocol.values,
                                help="oauth1, oauth2 or oidc (default oauth2, or what the preset or issuer sets).")
        set_parser.add_argument("--display-name", help="Name shown to users.")
        set_parser.add_argument("--authorization-url", help="Where users grant access.")
        set_parser.add_argument("--access-token-url", help="Token endpoint.")
        set_parser.add_argument("--request-token-url", help="OAuth 1.0a request token endpoint.")
        set_parser.add_argument("--profile-url", help="Returns the signed-in user's profile as JSON.")
        set_parser.add_argument("--api-base-url", help="Prefix of every URL the proxy may call.")
        set_parser.add_argument("--identifier-path",
                                help="Dotted path to the user id in the profile (default: sub for oidc, id otherwise).")
        set_parser.add_argument("--scope", help='Default scopes, separated by spaces or commas: "a b".')
        set_parser.add_argument("--client-id", help="Client id (OAuth 1.0a: consumer key) issued by the provider.")
        set_parser.add_argument("--client-secret", help="Client secret; '-' reads it from standard input.")
        set_parser.add_argument("--token-auth-method", choices=TokenAuthMethod.values)
        set_parser.add_argument("--api-header", action="append", metavar='"NAME: VALUE"',
                                help="Header sent with every profile and API request; repeat for more. "
                                     "Given headers replace the stored ones.")
        set_parser.add_argument("--profile-field", action="append", metavar='"FIELD=PATH"',
                                help="Where the profile keeps FIELD (one of " + ", ".join(PROFILE_FIELDS) + "), "
                                     "as a dotted path or comma-separated paths; repeat for more. "
                                     "Given fields replace the stored mapping.")
        set_parser.add_argument("--pkce", action=argparse.BooleanOptionalAction, help="Send a PKCE challenge (default on).")
        set_parser.add_argument("--legacy-oauth1", action="store_true", default=None,
                                help="Accept OAuth 1.0 request-token responses without oauth_callback_confirmed.")
        set_parser.add_argument("--trust-email", action=argparse.BooleanOptionalAction,
                                help="Keep profile emails even when not marked verified.")
        enable = set_parser.add_mutually_exclusive_group()
        enable.add_argument("--enable", dest="enabled", action="store_true", default=None,
                            help="Switch the provider on (it also needs a client id and secret).")
        enable.add_argument("--disable", dest="enabled", action="store_false",
                            help="Switch the provider off; it disappears from the API, its accounts stay.")

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

        # Preset, then discovery, then explicit options: each later source wins.
        if options.get("preset"):
            self.apply_preset(provider, options["preset"])
        if options.get("issuer"):
            self.apply_discovery(provider, options["issuer"])

        for option, field in FIELD_OPTIONS.items():
            if options.get(option) is not None:
                setattr(provider, field, options[option])
        if options.get("legacy_oauth1"):
            provider.legacy_oauth1 = True
        if options.get("scope") is not None:
            provider.scope = split_scope(options["scope"])
        if options.get("api_header"):
            provider.api_headers = dict(parse_api_header(text) for text in options["api_header"])
        if options.get("profile_field"):
            provider.profile_fields = dict(parse_profile_field(text) for text in options["profile_field"])
        if options.get("client_secret") is not None:
            provider.client_secret = self.read_secret(options["client_secret"])

        try:
            provider.full_clean()
        except ValidationError as exc:
            raise CommandError(self.format_errors(exc)) from exc
        provider.save()

        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} provider {provider.name!r} ({provider.protocol}), {describe_state(provider)}.")
        if not provider.api_base_url:
            self.stdout.write("No API base URL: proxy calls for this provider return 400 path_not_allowed "
                              "until --api-base-url is set.")
        if options.get("preset"):
            self.stdout.write(f"Preset {options['preset']!r}: {preset_docs_url(options['preset'])}")
        if options.get("issuer"):
            self.stdout.write(f"Endpoints read from {oidc.discovery_url(options['issuer'])}")
        if provider.profile_fields:
            mapping = "; ".join(
                f"{field}={paths if isinstance(paths, str) else ','.join(paths)}"
                for field, paths in provider.profile_fields.items()
            )
            self.stdout.write(f"Profile fields: {mapping}")

    def apply_preset(self, provider, name):
        values = get_preset(name)
        for field in PRESET_RESET_FIELDS:
            if field not in values:
                setattr(provider, field, Provider._meta.get_field(field).get_default())
        for field, value in values.items():
            setattr(provider, field, value)

    def apply_discovery(self, provider, issuer):
        try:
            document = oidc.fetch_discovery(issuer)
        except oidc.DiscoveryError as exc:
            raise CommandError(f"OpenID Connect discovery for --issuer {issuer} failed: {exc}") from exc
        for field, value in oidc.discovered_fields(document).items():
            setattr(provider, field, value)
        if not provider.scope:
            provider.scope = oidc.default_scope(document)

    def read_secret(self, value):
        if value != "-":
            return value
        if sys.stdin.isatty():
            self.stderr.write("Client secret (one line): ", ending="")
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CommandError("--client-secret -: standard input was empty; nothing was changed.")
        return secret

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
        self.stdout.write("NAME\tPROTOCOL\tCLIENT_ID\tAPI_BASE_URL\tSTATE")
        for provider in providers:
            self.stdout.write(
                f"{provider.name}\t{provider.protocol}\t{provider.client_id or '-'}\t"
                f"{provider.api_base_url or '-'}\t{describe_state(provider)}"
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

