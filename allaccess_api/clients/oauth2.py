"""OAuth 2.0 and OpenID Connect client: authorization URL, code exchange, Bearer calls.

The token response parser accepts what providers send, not only what RFC 6749
§5 describes. Form-encoded or text bodies, errors with status 200, numbers as
strings, comma-separated scopes and a missing ``token_type`` all occur in the field. oauthlib's parser rejects most of these and enforces https
through a process-wide environment variable, so it is not used here.
"""

import functools
import logging
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils import timezone

from allaccess_api.clients.base import (
    AuthorizationRequest,
    BaseOAuthClient,
    ProviderToken,
    decode_json,
    is_token_text,
    response_charset,
)
from allaccess_api.clients.exceptions import ProviderRequestError, TokenExchangeError
from allaccess_api.clients.session import read_body
from allaccess_api.models import TokenAuthMethod

logger = logging.getLogger(__name__)

# Maximum lifetime taken from a provider. Larger values are treated as "no expiry given".
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
MAX_ERROR_LENGTH = 200
# The length of AccountAccess.token_type.
MAX_TOKEN_TYPE_LENGTH = 40
_SCOPE_SEPARATORS = re.compile(r"[\s,]+")


def add_query(url, params):
    """Add ``params`` to ``url``'s query string, keeping what is there."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in params.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def split_scope(value):
    """Split a scope string on spaces or commas, keeping order and dropping repeats."""
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
    else:
        items = _SCOPE_SEPARATORS.split(str(value))
    return list(dict.fromkeys(item for item in items if item))


def clean_text(value, limit=MAX_ERROR_LENGTH):
    """Return provider-supplied text safe to show: printable, one line, bounded."""
    text = "".join(char for char in str(value) if char.isprintable())
    return text[:limit]


def parse_expires_in(value):
    """Read a lifetime in seconds given as a number or a numeric string."""
    try:
        seconds = int(float(str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds <= 0 or seconds > MAX_EXPIRES_IN:
        return None
    return seconds


def parse_token_body(body, content_type, charset="utf-8", *, plus_as_space=True):
    """Decode a token endpoint body as JSON or form data, trying the declared type first.

    With ``plus_as_space`` false, a ``+`` in form data stays a ``+``, so a value the
    provider forgot to percent-encode keeps it. OAuth 1.0a clients use this, because
    their tokens and secrets are not expected to contain spaces.
    """
    text = body.decode(charset, errors="replace").strip()
    as_form_first = "x-www-form-urlencoded" in content_type or content_type.startswith("text/plain")
    parse_form = functools.partial(_parse_form, plus_as_space=plus_as_space)
    parsers = (parse_form, _parse_json) if as_form_first else (_parse_json, parse_form)
    for parser in parsers:
        data = parser(text)
        if data is not None:
            return data
    raise ProviderRequestError(f"Token response is neither JSON nor form data (Content-Type {content_type!r})")


def _parse_json(text):
    try:
        data = decode_json(text.encode())
    except ProviderRequestError:
        return None
    return data if isinstance(data, dict) else None


def _parse_form(text, plus_as_space=True):
    if not plus_as_space:
        text = text.replace("+", "%2B")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    return dict(pairs) or None


def token_from_response(data, requested_scope):
    """Build a ``ProviderToken`` from a decoded token response (RFC 6749 §5.1)."""
    # Some providers return errors with status 200 (RFC 6749 §5.2 specifies 400).
    if data.get("error") not in (None, ""):
        raise TokenExchangeError(clean_text(data["error"]), clean_text(data.get("error_description") or ""))

    access_token = data.get("access_token")
    if not is_token_text(access_token):
        raise ProviderRequestError("Token response has no access_token of visible ASCII characters")

    token_type = str(data.get("token_type") or "Bearer")
    if token_type.lower() == "bearer":
        token_type = "Bearer"
    if not is_token_text(token_type) or len(token_type) > MAX_TOKEN_TYPE_LENGTH:
        raise ProviderRequestError("Token response has an unusable token_type")

    expires_in = data.get("expires_in")
    if expires_in is None:
        # Older Facebook-style responses name the lifetime "expires".
        expires_in = data.get("expires")
    seconds = parse_expires_in(expires_in) if expires_in is not None else None
    expires_at = timezone.now() + timedelta(seconds=seconds) if seconds else None

    # RFC 6749 §5.1: an omitted scope means the requested scope was granted.
    scope = split_scope(data["scope"]) if data.get("scope") else list(requested_scope)

    refresh_token = data.get("refresh_token")
    id_token = data.get("id_token")
    return ProviderToken(
        access_token=access_token,
        token_type=token_type,
        refresh_token=refresh_token if is_token_text(refresh_token) else "",
        expires_at=expires_at,
        scope=[item for item in scope if is_token_text(item)],
        id_token=id_token if is_token_text(id_token) else "",
    )


class OAuth2Client(BaseOAuthClient):
    """Authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636)."""

    callback_parameters = ("code",)

    def begin_authorization(self, *, redirect_uri, state, scope, code_challenge=None, nonce=None):
        url = self.get_redirect_url(
            redirect_uri=redirect_uri, state=state, scope=scope, code_challenge=code_challenge, nonce=nonce
        )
        return AuthorizationRequest(url)

    def finish_authorization(self, pending, callback):
        return self.get_access_token(
            code=callback["code"],
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.pkce_verifier or None,
            requested_scope=pending.scope,
        )

    def get_redirect_url(self, *, redirect_uri, state, scope, code_challenge=None, nonce=None):
        """Return the authorization endpoint URL with the request's parameters (RFC 6749 §4.1.1)."""
        params = {
            "response_type": "code",
            "client_id": self.provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scope) if scope else None,
            "state": state,
        }
        if code_challenge:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        if nonce:
            params["nonce"] = nonce
        return add_query(self.provider.authorization_url, params)

    def get_access_token(self, *, code, redirect_uri, code_verifier=None, requested_scope=()):
        """Exchange an authorization code for a token (RFC 6749 §4.1.3)."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            data["code_verifier"] = code_verifier
        return self._token_request(data, requested_scope)

    def refresh_access_token(self, refresh_token, requested_scope=()):
        """Get a new access token with a refresh token (RFC 6749 §6)."""
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}, requested_scope)

    def _token_request(self, data, requested_scope):
        auth = None
        data = dict(data)
        if self.provider.token_auth_method == TokenAuthMethod.CLIENT_SECRET_BASIC:
            # RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
            auth = (urlencode({"": self.provider.client_id})[1:], urlencode({"": self.provider.client_secret})[1:])
        else:
            data["client_id"] = self.provider.client_id
            data["client_secret"] = self.provider.client_secret

        response = self.session.request(
            "POST",
            self.provider.access_token_url,
            provider=self.provider.name,
            data=data,
            auth=auth,
            # Some providers return form data unless the request accepts JSON.
            headers={"Accept": "application/json"},
            stream=True,
        )
        body = read_body(response)
        content_type = response.headers.get("Content-Type", "").lower()

        if response.status_code >= 500:
            raise ProviderRequestError(f"Token endpoint returned HTTP {response.status_code}")
        try:
            parsed = parse_token_body(body, content_type, response_charset(response))
        except ProviderRequestError:
            if 400 <= response.status_code < 500:
                raise TokenExchangeError(f"http_{response.status_code}") from None
            raise
        if 400 <= response.status_code < 500 and parsed.get("error") in (None, ""):
            raise TokenExchangeError(f"http_{response.status_code}")
        return token_from_response(parsed, requested_scope)

    def authorize_request(self, token, headers):
        # RFC 6750 §2.1: the token goes in the header, with the scheme in canonical case,
        # whatever case the provider's token_type used.
        headers["Authorization"] = f"Bearer {token.access_token}"
        return {"headers": headers}
