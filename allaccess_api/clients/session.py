"""The one HTTP session factory for every outbound call to a provider.

Every request gets a timeout, our User-Agent, no redirect following and one
log line; URLs must be https, or http on a loopback address when
``INSECURE_LOOPBACK`` is on. Connections go to a checked, pinned address
(``pinning``).
"""

import ipaddress
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import requests

from allaccess_api.clients.exceptions import InsecureURLError, ProviderRequestError, ProviderTimeoutError
from allaccess_api.clients.pinning import PinnedAddressAdapter
from allaccess_api.settings import api_settings

logger = logging.getLogger(__name__)

_local = threading.local()


def is_loopback_host(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_allowed_url(url):
    """Check that ``url`` is https, or http on loopback while ``INSECURE_LOOPBACK`` is on."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and api_settings.INSECURE_LOOPBACK and is_loopback_host(parts.hostname)


def check_url(url):
    """Raise ``InsecureURLError`` unless ``url`` may be called."""
    if not is_allowed_url(url):
        raise InsecureURLError(f"Provider URL must use https: {loggable_url(url)}")


def loggable_url(url):
    """Return ``url`` without query and fragment, which may carry codes or tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class ProviderSession(requests.Session):
    """A ``requests.Session`` with the product's outbound HTTP policy."""

    def __init__(self):
        super().__init__()
        # Connections go straight to the checked address of the host (see ``pinning``);
        # proxy settings from the environment would bypass that check.
        self.trust_env = False
        self.mount("https://", PinnedAddressAdapter())
        self.mount("http://", PinnedAddressAdapter())

    def request(self, method, url, *args, provider=None, **kwargs):
        check_url(url)
        kwargs.setdefault("timeout", api_settings.HTTP_TIMEOUT)
        # A redirect from a token or profile endpoint is a misconfiguration, and
        # following it would resend credentials to a host that was never checked.
        kwargs.setdefault("allow_redirects", False)
        headers = {"User-Agent": api_settings.USER_AGENT}
        headers.update(kwargs.pop("headers", None) or {})

        started = time.monotonic()
        try:
            response = super().request(method, url, *args, headers=headers, **kwargs)
        except requests.Timeout as exc:
            logger.warning("%s %s provider=%s timed out after %.0f ms",
                           method, loggable_url(url), provider, (time.monotonic() - started) * 1000)
            raise ProviderTimeoutError(f"{method} {loggable_url(url)} timed out") from exc
        except requests.RequestException as exc:
            logger.warning("%s %s provider=%s failed: %s",
                           method, loggable_url(url), provider, type(exc).__name__)
            raise ProviderRequestError(f"{method} {loggable_url(url)} failed: {type(exc).__name__}") from exc

        logger.info("%s %s provider=%s status=%s elapsed_ms=%.0f",
                    method, loggable_url(url), provider, response.status_code, (time.monotonic() - started) * 1000)
        return response


def get_session():
    """Return this thread's ``ProviderSession``, so connections to a provider are reused."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = ProviderSession()
    return session


def shut_down_connection(response):
    """Shut down the response's socket, which ends a read blocked on it in another thread."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def read_body(response, limit=None):
    """Read a streamed response's body, at most ``limit`` bytes, and close it.

    The read timeout bounds each socket read, not the whole body, so a provider
    sending a byte every few seconds could hold the worker for days. A timer shuts
    the connection down once ``HTTP_BODY_DEADLINE`` seconds have passed.
    """
    limit = limit or api_settings.MAX_PROVIDER_RESPONSE_BYTES
    deadline_passed = threading.Event()

    def on_deadline():
        deadline_passed.set()
        shut_down_connection(response)

    timer = threading.Timer(api_settings.HTTP_BODY_DEADLINE, on_deadline)
    timer.daemon = True
    timer.start()
    chunks = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ProviderRequestError(f"Provider response is larger than {limit} bytes")
            chunks.append(chunk)
    except requests.RequestException as exc:
        if not deadline_passed.is_set():
            raise ProviderRequestError(f"Reading the provider response failed: {type(exc).__name__}") from exc
    finally:
        timer.cancel()
        response.close()
    if deadline_passed.is_set():
        logger.warning("Provider response body took longer than %s s url=%s",
                       api_settings.HTTP_BODY_DEADLINE, loggable_url(response.url))
        raise ProviderTimeoutError(f"Provider response body took longer than {api_settings.HTTP_BODY_DEADLINE} s")
    return b"".join(chunks)
