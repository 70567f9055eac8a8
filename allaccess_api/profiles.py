"""Reading the user id, names and email out of a provider's profile JSON."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_IDENTIFIER_LENGTH = 255
MAX_NAME_LENGTH = 150
MAX_EMAIL_LENGTH = 254
USERNAME_KEYS = ("preferred_username", "login", "username", "screen_name", "nickname")


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
    if len(identifier) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierNotFound(f"Value at {path!r} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    return identifier


def _text(data, key):
    value = data.get(key) if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) else ""


def extract_names(data):
    """Return (first name, last name) from given/family, first/last, or ``name``."""
    first = _text(data, "given_name") or _text(data, "first_name")
    last = _text(data, "family_name") or _text(data, "last_name")
    if not first and not last:
        full_name = _text(data, "name")
        first, _, last = full_name.rpartition(" ")
        if not first:
            first, last = last, ""
    return first[:MAX_NAME_LENGTH], last[:MAX_NAME_LENGTH]


def is_true(value):
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def extract_verified_email(data, trust_email=False):
    """Return the profile's email when it is verified (or trusted) and well-formed, else ''."""
    email = _text(data, "email")
    if not email or len(email) > MAX_EMAIL_LENGTH:
        return ""
    verified = isinstance(data, dict) and is_true(data.get("email_verified"))
    if not (trust_email or verified):
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def extract_username_hint(data):
    for key in USERNAME_KEYS:
        value = _text(data, key)
        if value:
            return value
    return _text(data, "email").partition("@")[0]


def read_profile(data, provider):
    """Extract everything the sign-in needs from ``data``."""
    identifier = extract_identifier(data, provider.effective_identifier_path)
    first_name, last_name = extract_names(data)
    return ProfileDetails(
        identifier=identifier,
        username_hint=extract_username_hint(data),
        first_name=first_name,
        last_name=last_name,
        email=extract_verified_email(data, provider.trust_email),
    )
