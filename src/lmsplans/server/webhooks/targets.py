"""Where a webhook may point: http or https, at a host whose every address is public.

A private, loopback, link-local (or otherwise not global) address is refused unless
`LMSPLANS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true`: a webhook is a request the server makes for
whoever registers it, and must not reach the server's own network. The host is resolved
when the URL is registered and again before each delivery (a name may move).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse

MAX_URL_LENGTH = 2000
RESOLVE_SECONDS = 5.0


class TargetRefused(ValueError):
    """Why a URL may not be a webhook's target (the message says it)."""


def parse_target(url: str) -> tuple[str, int]:
    """The host and port of `url`, checked for form: http or https, a host, no user
    information, no fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http or https URL")
    if not parts.hostname:
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("may not hold a user name or password")
    if parts.fragment or "#" in url:
        raise TargetRefused("may not hold a fragment")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TargetRefused("may not hold spaces or control characters")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse (`TargetRefused`) a URL a webhook may not use: see the module docstring."""
    host, port = parse_target(url)
    if allow_private:
        return
    try:
        addresses = [ipaddress.ip_address(host).compressed]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS
            )
        except (OSError, TimeoutError, UnicodeError):
            raise TargetRefused(f"names a host that cannot be resolved: {host}") from None
        addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        if not _public(address):
            raise TargetRefused(
                f"resolves to {address}, a private, loopback or link-local address "
                "(LMSPLANS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows it)"
            )
