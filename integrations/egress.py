"""Outbound HTTP that cannot be turned against the internal network (SSRF).

A webhook URL is chosen by a space's administrator, but the request leaves from our
workers, which can reach what the internet cannot: loopback services, the private network,
the cloud metadata service (169.254.169.254). So:

- at subscription time the URL's host is resolved and refused when any address it resolves
  to is not a public one (``check_url``);
- at delivery time the host is resolved **once**, every address is checked, and the
  connection goes to the checked address (the URL's host becomes the ``Host`` header and the
  TLS SNI / certificate name), so a DNS answer that changes between the check and the
  connection (DNS rebinding) cannot redirect the request (``post_pinned``). Redirects are
  never followed.

``INTEGRATIONS_ALLOW_PRIVATE_NETWORKS`` (default False) lifts the address check, for
development and for tests that run a receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not covered by ``is_global`` / ``is_multicast`` in every Python version we run on.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT (RFC 6598)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
]


class EgressRefused(Exception):
    """The URL's host is, or resolves to, an address we do not send to."""


def private_networks_allowed() -> bool:
    return bool(getattr(settings, "INTEGRATIONS_ALLOW_PRIVATE_NETWORKS", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client, NAT64 well-known)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_blocked(ip: IPAddress) -> bool:
    """Loopback, private (RFC 1918), link-local (cloud metadata), CGNAT, multicast,
    reserved, unspecified, IPv6 ULA / link-local / loopback, or any of those wrapped in an
    IPv6 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and is_blocked(inner):
            return True
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
        or any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is itself), in resolver order."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressRefused(_("%(host)s cannot be resolved.") % {"host": host}) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        # An IPv6 link-local answer may carry a zone ("fe80::1%eth0"): drop it to parse.
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise EgressRefused(_("%(host)s cannot be resolved.") % {"host": host})
    return addresses


def _port(parts: Any) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def checked_addresses(url: str) -> list[IPAddress]:
    """Resolve the URL's host once and refuse it if any of its addresses is private."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses = resolve(host, _port(parts))
    if not private_networks_allowed():
        for ip in addresses:
            if is_blocked(ip):
                raise EgressRefused(
                    _("%(host)s is a private or reserved network address (%(ip)s).")
                    % {"host": host, "ip": ip}
                )
    return addresses


def check_url(url: str) -> None:
    """Raise ``EgressRefused`` when ``url`` may not be called (see the module's doc)."""
    checked_addresses(url)


def post_pinned(
    url: str, *, content: bytes, headers: dict[str, str], timeout: float
) -> httpx.Response:
    """POST to ``url`` over a connection to the address checked here, never re-resolved.

    The request goes to the IP literal; the ``Host`` header keeps the URL's host (and port),
    and for https the ``sni_hostname`` extension of httpcore makes the TLS handshake send
    and verify the URL's host name, not the IP."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ip = checked_addresses(url)[0]
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header = f"{host_header}:{parts.port}"
    extensions: dict[str, Any] = {}
    if parts.scheme == "https":
        extensions["sni_hostname"] = host
    # A client, not ``httpx.post``: only ``Client.post`` takes request extensions.
    with httpx.Client(timeout=timeout) as client:
        return client.post(
            pinned,
            content=content,
            headers={**headers, "host": host_header},
            follow_redirects=False,
            extensions=extensions,
        )
