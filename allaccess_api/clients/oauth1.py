"""OAuth 1.0a client (RFC 5849): request token, user authorization, access token, signed calls.

Every request is signed with HMAC-SHA1 by requests-oauthlib's ``OAuth1`` auth in
the Authorization header. PLAINTEXT is never used, because it sends the client
secret and token secret themselves.

OAuth 1.0a has no scope parameter, so the requested scope is not sent to the
provider, and the account's scope stays empty because the provider does not
report what it granted. Permissions that a provider takes as an extra query
parameter of its authorization page can be written into ``authorization_url``,
whose query string is kept.
"""

import hmac
import logging

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER
from requests_oauthlib import OAuth1

from allaccess_api.clients.base import (
    AuthorizationRequest,
    BaseOAuthClient,
    ProviderToken,
    is_token_text,
    response_charset,
)
from allaccess_api.clients.exceptions import ProviderRequestError, TokenExchangeError
from allaccess_api.clients.oauth2 import add_query, clean_text, parse_token_body
from allaccess_api.clients.session import read_body

logger = logging.getLogger(__name__)

# oauthlib 4.0 and requests-oauthlib 2.0 (checked in these versions) log the signature base
# string and the signed headers at DEBUG, which include the verifier and the access token.
SIGNING_LOGGERS = ("oauthlib.oauth1.rfc5849", "oauthlib.oauth1.rfc5849.signature", "requests_oauthlib.oauth1_auth")

# Stored as the account's token_type: OAuth 1.0a credentials are a token and a secret, not a Bearer token.
TOKEN_TYPE = "OAuth1"


class DropDebugRecords(logging.Filter):
    """Drop DEBUG records, whatever level the logger or the root logger is set to."""

    def filter(self, record):
        return record.levelno > logging.DEBUG


def silence_signing_debug_logs():
    """Keep the signing libraries' DEBUG records, which carry credentials, out of every log."""
    for name in SIGNING_LOGGERS:
        signing_logger = logging.getLogger(name)
        if not any(isinstance(existing, DropDebugRecords) for existing in signing_logger.filters):
            signing_logger.addFilter(DropDebugRecords())


silence_signing_debug_logs()


def read_problem(data):
    """Return (error, description) of a credentials response, or ("", "") when it reports none.

    oauthlib servers send ``error`` and ``error_description``. Providers that follow
    the OAuth Problem Reporting extension send ``oauth_problem`` and ``oauth_problem_advice``.
    """
    error = data.get("oauth_problem") or data.get("error") or ""
    description = data.get("oauth_problem_advice") or data.get("error_description") or ""
    return clean_text(error), clean_text(description)


def read_credentials(data, step):
    """Return the ``oauth_token`` and ``oauth_token_secret`` of a decoded response (RFC 5849 §2.1, §2.3)."""
    token = data.get("oauth_token")
    secret = data.get("oauth_token_secret")
    if not is_token_text(token) or not isinstance(secret, str) or (secret and not is_token_text(secret)):
        raise ProviderRequestError(f"The {step} response has no oauth_token and oauth_token_secret")
    return token, secret


class OAuth1Client(BaseOAuthClient):
    """Three-step OAuth 1.0a flow with HMAC-SHA1 signatures (RFC 5849 §2, §3.4.2)."""

    callback_parameters = ("oauth_token", "oauth_verifier")

    def begin_authorization(self, *, redirect_uri, state, scope, code_challenge=None, nonce=None):
        # The provider appends oauth_token and oauth_verifier to this URI, so the state
        # comes back beside them and the client can post all three to callback.
        callback_uri = add_query(redirect_uri, {"state": state})
        request_token, request_token_secret = self.get_request_token(callback_uri)

        params = {"oauth_token": request_token}
        if self.provider.legacy_oauth1:
            # OAuth Core 1.0 (before 1.0a) takes the callback on the authorization URL.
            params["oauth_callback"] = callback_uri
        url = add_query(self.provider.authorization_url, params)
        return AuthorizationRequest(url, request_token=request_token, request_token_secret=request_token_secret)

    def get_request_token(self, callback_uri):
        """Obtain temporary credentials for ``callback_uri`` (RFC 5849 §2.1); return (token, secret)."""
        auth = self._sign(callback_uri=callback_uri)
        data = self._credentials_request(self.provider.request_token_url, auth, step="request token")

        # RFC 5849 §2.1: the provider confirms that it will use our callback. A provider
        # that does not is an OAuth 1.0 provider, open to session fixation, and is only
        # accepted when configured as legacy.
        confirmed = str(data.get("oauth_callback_confirmed", "")).strip().lower() == "true"
        if not confirmed and not self.provider.legacy_oauth1:
            raise ProviderRequestError("The request token response lacks oauth_callback_confirmed=true")
        return read_credentials(data, "request token")

    def finish_authorization(self, pending, callback):
        posted_token = callback.get("oauth_token") or ""
        # The callback must come back for the request token this flow obtained, or a
        # verifier issued to another flow would be exchanged with this flow's secret.
        if not pending.request_token or not hmac.compare_digest(
            posted_token.encode(), pending.request_token.encode()
        ):
            raise TokenExchangeError("oauth_token_mismatch", "oauth_token is not the request token of this flow.")
        return self.get_access_token(pending.request_token, pending.request_token_secret, callback["oauth_verifier"])

    def get_access_token(self, request_token, request_token_secret, verifier):
        """Exchange the authorized request token and its verifier for token credentials (RFC 5849 §2.3)."""
        auth = self._sign(
            resource_owner_key=request_token, resource_owner_secret=request_token_secret, verifier=verifier
        )
        data = self._credentials_request(self.provider.access_token_url, auth, step="access token")

        error, description = read_problem(data)
        if error:
            raise TokenExchangeError(error, description)
        access_token, token_secret = read_credentials(data, "access token")
        return ProviderToken(access_token=access_token, token_type=TOKEN_TYPE, token_secret=token_secret)

    def authorize_request(self, token, headers):
        # ``token`` is a ProviderToken or a stored AccountAccess: both carry the token and its secret.
        auth = self._sign(resource_owner_key=token.access_token, resource_owner_secret=token.token_secret)
        return {"headers": headers, "auth": auth}

    def _sign(self, **credentials):
        return OAuth1(
            self.provider.client_id,
            client_secret=self.provider.client_secret,
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
            **credentials,
        )

    def _credentials_request(self, url, auth, *, step):
        """POST a signed request for credentials and return the decoded response.

        The request token step happens in ``authorize``, where any rejection means the
        provider or our configuration is broken, so every failure there is a
        ``ProviderRequestError``. At the access token step a 4xx response means the
        provider rejected the verifier or token and raises ``TokenExchangeError``.
        """
        response = self.session.request(
            "POST", url, provider=self.provider.name, auth=auth, headers={"Accept": "application/json"}, stream=True
        )
        body = read_body(response)
        status = response.status_code
        content_type = response.headers.get("Content-Type", "").lower()

        if status >= 500 or 300 <= status < 400:
            raise ProviderRequestError(f"The {step} endpoint returned HTTP {status}")
        try:
            # Some providers send credentials without percent-encoding them, so a "+"
            # in a secret is kept rather than read as a space.
            data = parse_token_body(body, content_type, response_charset(response), plus_as_space=False)
        except ProviderRequestError:
            data = None

        if 400 <= status < 500:
            error, description = read_problem(data or {})
            if step == "request token":
                raise ProviderRequestError(f"The {step} endpoint returned HTTP {status} {error}".rstrip())
            raise TokenExchangeError(error or f"http_{status}", description)
        if data is None:
            raise ProviderRequestError(f"The {step} response is neither form data nor JSON")
        return data
