"""Address checks and pinned connections for outbound requests.

Before a connection opens, the host is resolved once and every address it
resolves to is checked. Private, loopback, link-local, multicast, reserved and
other non-global addresses are rejected, except loopback while
``INSECURE_LOOPBACK`` is on. The connection then goes to the checked address,
so a second DNS answer (DNS rebinding) cannot send the request elsewhere. The
``Host`` header, the TLS SNI name and the certificate check keep the hostname.
"""

import ipaddress
import logging
import socket

import requests
from requests.adapters import HTTPAdapter

from allaccess_api.settings import api_settings

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 6052 well-known prefix: NAT64 gateways embed an IPv4 address in its last 32 bits.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class DisallowedAddressError(requests.ConnectionError):
    """The host resolves to an address that outbound requests must not reach."""


def embedded_ipv4(address):
    """Return the IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), or None."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_global(address):
    # is_site_local: the deprecated fec0::/10 range (RFC 3879), which Python does not count as private.
    return address.is_global and not (
        address.is_private
        or getattr(address, "is_site_local", False)
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def is_allowed_address(address):
    """Check that an outbound connection may go to ``address`` (a string or ``ip_address``)."""
    address = ipaddress.ip_address(address)
    inner = embedded_ipv4(address)
    if inner is not None:
        address = inner
    if address.is_loopback:
        return bool(api_settings.INSECURE_LOOPBACK)
    return _is_global(address)


def resolve_allowed_address(host, port):
    """Resolve ``host`` once and return the address to connect to.

    Raises ``DisallowedAddressError`` when the name does not resolve or when any
    of its addresses is not allowed: a name that mixes public and private
    addresses is treated as an attack, not tried address by address.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        logger.warning("Resolving host failed host=%s: %s", host, exc)
        raise DisallowedAddressError(f"Host {host!r} does not resolve") from exc

    # The scope id of a link-local IPv6 address ("fe80::1%eth0") is not part of the address.
    addresses = list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))
    if not addresses:
        raise DisallowedAddressError(f"Host {host!r} resolves to no address")
    rejected = [address for address in addresses if not is_allowed_address(address)]
    if rejected:
        logger.warning("Outbound request rejected host=%s addresses=%s", host, ",".join(rejected))
        raise DisallowedAddressError(f"Host {host!r} resolves to a disallowed address")
    # NOTE: only the first address is tried. A host whose first address is down fails,
    # where an unpinned connection would fall back to the next address.
    return addresses[0]


class PinnedAddressAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that connects to the checked address of each request's host.

    The connection pool is keyed by the address, while TLS uses the hostname for
    SNI and for matching the certificate, and the ``Host`` header keeps the
    hostname and port of the URL. Proxies from the environment are never used,
    because a proxy would connect to a host this check never saw.
    """

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        hostname = host_params["host"]
        port = host_params["port"] or DEFAULT_PORTS[host_params["scheme"]]

        address = resolve_allowed_address(hostname, port)
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
        host_params = {**host_params, "host": address, "port": port}
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

    def request_url(self, request, proxies):
        return request.path_url

    def add_headers(self, request, **kwargs):
        # The pool connects to an IP address, so http.client would put the address in Host.
        # The server expects the name from the URL there instead.
        request.headers["Host"] = _host_header(request.url)


def _host_header(url):
    parsed = requests.utils.urlparse(url)
    netloc = parsed.netloc.rpartition("@")[2]
    scheme_port = f":{DEFAULT_PORTS.get(parsed.scheme)}"
    return netloc.removesuffix(scheme_port)
