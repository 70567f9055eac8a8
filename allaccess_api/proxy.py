"""The authenticated API proxy: a user's request sent to the provider's API with the stored token.

``proxy_request`` checks the target path and forwards the body and an allowlist
of request headers. The provider's client authorizes the request
(``Authorization: Bearer`` for OAuth 2.0, a signature for OAuth 1.0a). An
expired or rejected access token is refreshed once. The provider's status, body
and an allowlist of its headers are streamed back.
"""

import logging
import unicodedata
from urllib.parse import quote, unquote, urlsplit

import requests
from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ParseError

from allaccess_api import exceptions
from allaccess_api.clients import get_client
from allaccess_api.clients.base import ProviderToken
from allaccess_api.clients.exceptions import ProviderRequestError, ProviderTimeoutError, TokenExchangeError
from allaccess_api.linking import store_token
from allaccess_api.models import AccountAccess, AccountStatus
from allaccess_api.settings import api_settings

logger = logging.getLogger(__name__)

# Request headers the client may send to the provider. Everything else, such as our own
# Authorization, Cookie, Host, X-Forwarded-* and the hop-by-hop headers, stays here.
REQUEST_HEADERS = (
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Content-Language",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
)
# Provider response headers passed back to the client (compared in lower case).
RESPONSE_HEADERS = frozenset({
    "cache-control",
    "content-disposition",
    "content-language",
    "content-type",
    "etag",
    "expires",
    "last-modified",
    "link",
    # Not Location: a relative one would point a browser's fetch, which follows
    # same-origin redirects with the JWT, at this API's own endpoints.
    "ratelimit",
    "retry-after",
})
# Rate-limit header families: X-RateLimit-* (GitHub, GitLab), X-Rate-Limit-* (X/Twitter)
# and RateLimit-* (the IETF httpapi draft).
RESPONSE_HEADER_PREFIXES = ("x-ratelimit-", "x-rate-limit-", "ratelimit-")

CHUNK_SIZE = 64 * 1024
# A path is percent-decoded this many times at most while it is checked; one that
# still changes after that is rejected.
MAX_DECODE_ROUNDS = 4
# Characters sent unencoded in the path: RFC 3986 pchar and "/", without three of them.
# "%" stays encoded, so a literal "%" the client encoded keeps its meaning. "@" is rejected
# anyway. ";" starts a path parameter on Java servers, where a "..;" segment means "..".
PATH_SAFE_CHARACTERS = "/!$&'()*+,=:-._~"


def proxy_request(account, method, path, request):
    """Send ``request`` to ``path`` under the provider's API base URL and return the streamed response.

    ``request`` is the incoming Django request; its query string, body and
    allowed headers are forwarded.
    """
    provider = account.provider
    if not provider.is_enabled:
        # A switched-off provider's stored tokens are not used either.
        raise exceptions.ProviderNotFound()
    url = build_target_url(provider.api_base_url, path, request.META.get("QUERY_STRING", ""))
    headers = forwarded_headers(request)
    body = read_request_body(request)
    if account.status != AccountStatus.ACTIVE:
        raise exceptions.ReauthorizationRequired()
    client = get_client(provider)

    refreshed = False
    if token_expires_soon(account):
        account = refresh_account_token(account, account.access_token)
        refreshed = True

    upstream = send(client, account, method, url, headers, body)
    if upstream.status_code == 401 and not refreshed:
        upstream.close()
        account = refresh_account_token(account, account.access_token)
        upstream = send(client, account, method, url, headers, body)
    if upstream.status_code == 401:
        # RFC 6750 §3.1: the provider rejects the token even after a refresh.
        upstream.close()
        mark_reauthorization_required(account)
        raise exceptions.ReauthorizationRequired()
    if upstream.status_code == 500 or not 200 <= upstream.status_code <= 599:
        # A 500 from this API always means our own bug, so the provider's is a bad gateway.
        # 1xx and codes above 599 cannot be a final response (and Django rejects the latter).
        upstream.close()
        logger.warning("Provider returned HTTP %s provider=%s account=%s",
                       upstream.status_code, provider.name, account.pk)
        raise exceptions.ProviderUnavailable()
    return stream_response(upstream, provider.name)


def build_target_url(api_base_url, path, query_string):
    """Return ``api_base_url`` + ``path`` + ``query_string``, or raise ``PathNotAllowed``.

    ``path`` arrives percent-decoded once by the server. It is decoded further
    until it stops changing, and every form is checked for dot segments, empty
    segments, "@", backslashes and control characters, so no encoding of them
    reaches the provider.
    """
    if not api_base_url:
        raise exceptions.PathNotAllowed(_("This provider has no API base URL."))
    check_path(path)
    if any(not char.isprintable() or char == "#" for char in query_string):
        raise exceptions.PathNotAllowed()
    # PEP 3333 hands the query over as latin-1 text; raw non-ASCII bytes are sent percent-encoded.
    query_string = quote(query_string.encode("latin-1"), safe="/?&=+%:;,@!$'()*-._~")

    base = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
    url = base + quote(path, safe=PATH_SAFE_CHARACTERS)
    if query_string:
        url = f"{url}?{query_string}"

    target, expected = urlsplit(url), urlsplit(base)
    if (target.scheme, target.netloc) != (expected.scheme, expected.netloc) or not target.path.startswith(
        expected.path
    ):
        raise exceptions.PathNotAllowed()
    return url


def check_path(path):
    """Raise ``PathNotAllowed`` unless every decoded form of ``path`` is a plain relative path."""
    text = path
    for _round in range(MAX_DECODE_ROUNDS):
        if not is_plain_relative_path(text):
            raise exceptions.PathNotAllowed()
        try:
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            # Invalid UTF-8 such as the overlong "%c0%ae" for "." is decoded leniently by some servers.
            raise exceptions.PathNotAllowed() from None
        if decoded == text:
            return
        text = decoded
    raise exceptions.PathNotAllowed()


def is_plain_relative_path(text):
    if text.startswith("/") or "//" in text or "\\" in text or "@" in text:
        return False
    if any(not char.isprintable() for char in text):
        return False
    # NFKC turns look-alikes such as the full-width "．" into ASCII, as some servers do.
    # A path parameter does not hide a dot segment: "..;x" is ".." to Java servers.
    segments = unicodedata.normalize("NFKC", text).split("/")
    return not any(segment.split(";", 1)[0] in (".", "..") for segment in segments)


def forwarded_headers(request):
    """Return the allowed request headers, rejecting values with control characters."""
    headers = {}
    for name in REQUEST_HEADERS:
        value = request.headers.get(name)
        if value is None:
            continue
        if any(not char.isprintable() for char in value):
            raise ParseError(_("The %(header)s header contains control characters.") % {"header": name})
        headers[name] = value
    return headers


def read_request_body(request):
    """Return the request body, or raise ``RequestTooLarge`` above ``PROXY_MAX_REQUEST_BYTES``.

    Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies as well, so the smaller limit wins.
    """
    limit = api_settings.PROXY_MAX_REQUEST_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParseError(_("The Content-Length header is not a number.")) from None
    if declared > limit:
        raise exceptions.RequestTooLarge()
    body = request.body
    if len(body) > limit:
        raise exceptions.RequestTooLarge()
    return body


def stored_token(account):
    """Return the account's credentials as a ``ProviderToken`` for the client."""
    return ProviderToken(
        access_token=account.access_token,
        token_type=account.token_type or "Bearer",
        refresh_token=account.refresh_token,
        expires_at=account.expires_at,
        scope=list(account.scope or []),
        token_secret=account.token_secret,
    )


def token_expires_soon(account):
    if account.expires_at is None:
        return False
    return account.expires_at <= timezone.now() + api_settings.TOKEN_REFRESH_MARGIN


def send(client, account, method, url, headers, body):
    """Send one request through the provider's client; map transport failures to 502 or 504."""
    try:
        return client.request(method, url, stored_token(account), headers=dict(headers), data=body or None,
                              stream=True)
    except ValueError as exc:
        # oauthlib must read a form-encoded body to sign it (RFC 5849 §3.4.1.3) and
        # rejects one that is not valid form data.
        raise ParseError(_("The body is not valid application/x-www-form-urlencoded data.")) from exc
    except ProviderTimeoutError as exc:
        raise exceptions.ProviderTimeout() from exc
    except ProviderRequestError as exc:
        logger.warning("Proxy request failed provider=%s account=%s reason=%s",
                       account.provider.name, account.pk, exc)
        raise exceptions.ProviderUnavailable() from exc


def refresh_account_token(account, rejected_access_token):
    """Refresh the account's access token and return the account with the new token.

    The account row is locked and read again first. When its access token is no
    longer ``rejected_access_token``, another request refreshed it while this one
    waited, and that token is used: concurrent requests cause one refresh, which
    matters with providers that rotate refresh tokens and reject a used one.
    When no refresh is possible or the provider rejects it, the stored tokens stay,
    the account is marked ``reauthorization_required`` and ``ReauthorizationRequired``
    is raised. A failure to reach the provider is a 502 or 504 and changes nothing.
    """
    provider = account.provider
    with transaction.atomic():
        locked = AccountAccess.objects.select_for_update().filter(pk=account.pk).first()
        if locked is None:
            # The account was unlinked while this request was on its way.
            raise NotFound()
        locked.provider = provider
        if not constant_time_compare(locked.access_token, rejected_access_token):
            return locked
        if locked.status == AccountStatus.ACTIVE:
            token = _request_refresh(get_client(provider), locked)
            if token is not None:
                store_token(locked, token)
                locked.save()
                logger.info("Access token refreshed provider=%s account=%s", provider.name, locked.pk)
                return locked

    mark_reauthorization_required(account)
    raise exceptions.ReauthorizationRequired()


def _request_refresh(client, account):
    """Return a refreshed ``ProviderToken``, or None when the provider cannot or will not refresh."""
    refresh = getattr(client, "refresh_access_token", None)
    if not account.refresh_token or refresh is None:
        logger.info("No refresh possible provider=%s account=%s", account.provider.name, account.pk)
        return None
    try:
        return refresh(account.refresh_token, account.scope)
    except TokenExchangeError as exc:
        logger.warning("Token refresh rejected provider=%s account=%s error=%s",
                       account.provider.name, account.pk, exc.error)
        return None
    except ProviderTimeoutError as exc:
        raise exceptions.ProviderTimeout() from exc
    except ProviderRequestError as exc:
        logger.warning("Token refresh failed provider=%s account=%s reason=%s", account.provider.name, account.pk, exc)
        raise exceptions.ProviderUnavailable() from exc


def mark_reauthorization_required(account):
    """Set the account's status to ``reauthorization_required``, keeping its tokens."""
    AccountAccess.objects.filter(pk=account.pk).update(
        status=AccountStatus.REAUTHORIZATION_REQUIRED, modified=timezone.now()
    )
    logger.warning("Reauthorization required provider=%s account=%s", account.provider.name, account.pk)


def stream_response(upstream, provider_name):
    """Return a ``StreamingHttpResponse`` with the upstream status, body and allowed headers."""
    limit = api_settings.PROXY_MAX_RESPONSE_BYTES
    declared = upstream.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        upstream.close()
        logger.warning("Proxy response too large provider=%s content_length=%s limit=%s",
                       provider_name, declared, limit)
        raise exceptions.ProviderUnavailable()

    response = StreamingHttpResponse(stream_body(upstream, limit, provider_name), status=upstream.status_code)
    del response["Content-Type"]
    for name, value in upstream.headers.items():
        if is_allowed_response_header(name) and value.isprintable():
            response[name] = value
    if response.has_header("Cache-Control"):
        response["Cache-Control"] = private_cache_control(response["Cache-Control"])
    return response


def private_cache_control(value):
    """Return ``value`` with ``public`` and ``s-maxage`` removed and ``private`` added.

    The response depends on whose token was used, so a shared cache in front of
    this API must not store it, even when the provider allows that.
    """
    directives = [item.strip() for item in value.split(",") if item.strip()]
    private = [item for item in directives if item.lower() != "public" and not item.lower().startswith("s-maxage")]
    if not any(item.lower() in ("private", "no-store") for item in private):
        private.insert(0, "private")
    return ", ".join(private)


def is_allowed_response_header(name):
    lowered = name.lower()
    return lowered in RESPONSE_HEADERS or lowered.startswith(RESPONSE_HEADER_PREFIXES)


def stream_body(upstream, limit, provider_name):
    """Yield the upstream body in chunks; raise past ``limit`` bytes or on a read error.

    The status line has gone out by then, so raising is the only way left to
    signal a failure: the server drops the connection instead of ending the
    body normally, and the client sees an incomplete response.
    """
    size = 0
    try:
        for chunk in upstream.iter_content(chunk_size=CHUNK_SIZE):
            size += len(chunk)
            if size > limit:
                logger.warning("Proxy response cut off provider=%s limit=%s", provider_name, limit)
                raise ProviderRequestError(f"Provider response is larger than {limit} bytes")
            yield chunk
    except requests.RequestException as exc:
        logger.warning("Reading the proxy response failed provider=%s reason=%s", provider_name, type(exc).__name__)
        raise ProviderRequestError(f"Reading the provider response failed: {type(exc).__name__}") from exc
    finally:
        upstream.close()
