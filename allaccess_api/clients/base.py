"""The client interface shared by OAuth 1.0a and OAuth 2.0 providers."""

import codecs
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from allaccess_api.clients.exceptions import ProviderRequestError
from allaccess_api.clients.session import get_session, read_body

logger = logging.getLogger(__name__)


@dataclass
class ProviderToken:
    """Credentials a provider issued for one user."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str = ""
    expires_at: datetime | None = None
    scope: list[str] = field(default_factory=list)
    id_token: str = ""
    # OAuth 1.0a only.
    token_secret: str = ""

    def __repr__(self):
        # Keep tokens out of tracebacks and debug output.
        return f"ProviderToken(token_type={self.token_type!r}, expires_at={self.expires_at!r}, scope={self.scope!r})"


def response_charset(response):
    """Return the response's declared charset, or UTF-8 when none is declared or Python has no such codec."""
    charset = response.encoding or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset


def decode_json(body, charset="utf-8"):
    """Parse a JSON body, or raise ``ProviderRequestError``."""
    try:
        return json.loads(body.decode(charset, errors="replace"))
    except (ValueError, LookupError, RecursionError) as exc:
        raise ProviderRequestError("Provider response is not valid JSON") from exc


def is_token_text(value):
    """Check that ``value`` is a non-empty string of visible ASCII and spaces (RFC 6749 Appendix A, VSCHAR)."""
    return isinstance(value, str) and bool(value) and all(" " <= char <= "~" for char in value)


@dataclass(frozen=True)
class AuthorizationRequest:
    """The authorization URL for the user, and what the pending authorization must keep for the callback."""

    url: str
    # OAuth 1.0a only: the temporary credentials obtained before the redirect.
    request_token: str = ""
    request_token_secret: str = ""

    def __repr__(self):
        return f"AuthorizationRequest(url={self.url!r})"


class BaseOAuthClient:
    """Talks to one provider: authorization URL, tokens, profile and API calls."""

    # Callback fields this protocol needs besides ``state`` when no error is reported.
    callback_parameters = ()

    def __init__(self, provider):
        self.provider = provider

    @property
    def session(self):
        return get_session()

    def begin_authorization(self, *, redirect_uri, state, scope, code_challenge=None, nonce=None):
        """Return the ``AuthorizationRequest`` that starts a flow at the provider."""
        raise NotImplementedError

    def finish_authorization(self, pending, callback):
        """Exchange the callback's parameters for a ``ProviderToken``.

        ``pending`` is the ``PendingAuthorization`` of the flow and ``callback``
        the validated callback fields (``code``, ``oauth_token``, ...).
        """
        raise NotImplementedError

    def authorize_request(self, token, headers):
        """Return request arguments that carry ``token`` (headers or an auth object)."""
        raise NotImplementedError

    def request(self, method, url, token, **kwargs):
        """Send a request to the provider's API on behalf of the token's user."""
        headers = dict(self.provider.api_headers or {})
        headers.update(kwargs.pop("headers", None) or {})
        kwargs.update(self.authorize_request(token, headers))
        return self.session.request(method, url, provider=self.provider.name, **kwargs)

    def get_profile(self, token):
        """Fetch the user's profile JSON with ``token``."""
        response = self.request(
            "GET", self.provider.profile_url, token, headers={"Accept": "application/json"}, stream=True
        )
        body = read_body(response)
        if not 200 <= response.status_code < 300:
            logger.warning("Profile request failed provider=%s status=%s content_type=%s",
                           self.provider.name, response.status_code, response.headers.get("Content-Type", ""))
            raise ProviderRequestError(f"Profile request returned HTTP {response.status_code}")
        return decode_json(body, response_charset(response))
