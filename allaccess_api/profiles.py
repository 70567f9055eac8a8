"""Reading the user id, names and email out of a provider's profile JSON."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_IDENTIFIER_LENGTH = 255
MAX_NAME_LENGTH = 150
MAX_EMAIL_LENGTH = 254

# Default dotted paths of each profile field, used unless the provider's
# ``profile_fields`` maps the field. The first path with a non-empty value wins.
DEFAULT_PROFILE_FIELDS = {
    "first_name": ("given_name", "first_name"),
    "last_name": ("family_name", "last_name"),
    "full_name": ("name",),
    "email": ("email",),
    "email_verified": ("email_verified",),
    "username": ("preferred_username", "login", "username", "screen_name", "nickname"),
}
PROFILE_FIELDS = tuple(DEFAULT_PROFILE_FIELDS)


class IdentifierNotFound(Exception):
    """The profile has no usable user id at the configured path."""


@dataclass(frozen=True)
class ProfileDetails:
    identifier: str
    username_hint: str
    first_name: str
    last_name: str
    email: str


def lookup_path(data, path):
    """Follow a dotted path (``data.0.id``) through dicts and lists; None when absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def extract_identifier(data, path):
    """Return the user id at ``path`` as a string.

    Numbers and strings are accepted; booleans, floats, objects and empty values
    are not, because they cannot be a stable id.
    """
    value = lookup_path(data, path)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise IdentifierNotFound(f"No string or integer at {path!r}")
    identifier = str(value).strip()
    if not identifier:
        raise IdentifierNotFound(f"Empty value at {path!r}")
    if storable_text(identifier) != identifier:
        raise IdentifierNotFound(f"Value at {path!r} contains unprintable characters")
    if len(identifier) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierNotFound(f"Value at {path!r} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    return identifier


def field_paths(provider, field):
    """Return the dotted paths where ``provider``'s profile keeps ``field``."""
    mapped = (provider.profile_fields or {}).get(field)
    if not mapped:
        return DEFAULT_PROFILE_FIELDS[field]
    return (mapped,) if isinstance(mapped, str) else tuple(mapped)


def storable_text(value):
    """Return ``value`` without NUL bytes, lone surrogates and other unprintable characters.

    Providers have sent names cut in the middle of a surrogate pair; neither
    PostgreSQL nor UTF-8 can store those.
    """
    return "".join(char for char in value if char.isprintable() and not "\ud800" <= char <= "\udfff")


def first_text(data, paths):
    """Return the first non-empty string found at one of ``paths``, cleaned and stripped, or ''."""
    for path in paths:
        value = lookup_path(data, path)
        if isinstance(value, str) and storable_text(value).strip():
            return storable_text(value).strip()
    return ""


def first_value(data, paths):
    """Return the first value other than None found at one of ``paths``."""
    for path in paths:
        value = lookup_path(data, path)
        if value is not None:
            return value
    return None


def extract_names(data, provider):
    """Return (first name, last name): the mapped or usual name fields, else the full name split at its last space."""
    first = first_text(data, field_paths(provider, "first_name"))
    last = first_text(data, field_paths(provider, "last_name"))
    if not first and not last:
        full_name = first_text(data, field_paths(provider, "full_name"))
        first, _, last = full_name.rpartition(" ")
        if not first:
            first, last = last, ""
    return first[:MAX_NAME_LENGTH], last[:MAX_NAME_LENGTH]


def is_true(value):
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def extract_verified_email(data, provider):
    """Return the profile's email when it is verified (or the provider is trusted) and well-formed, else ''."""
    email = first_text(data, field_paths(provider, "email"))
    if not email or len(email) > MAX_EMAIL_LENGTH:
        return ""
    verified = is_true(first_value(data, field_paths(provider, "email_verified")))
    if not (provider.trust_email or verified):
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def extract_username_hint(data, provider):
    username = first_text(data, field_paths(provider, "username"))
    if username:
        return username
    return first_text(data, field_paths(provider, "email")).partition("@")[0]


def read_profile(data, provider):
    """Extract everything the sign-in needs from ``data``."""
    identifier = extract_identifier(data, provider.effective_identifier_path)
    first_name, last_name = extract_names(data, provider)
    return ProfileDetails(
        identifier=identifier,
        username_hint=extract_username_hint(data, provider),
        first_name=first_name,
        last_name=last_name,
        email=extract_verified_email(data, provider),
    )
