"""Webhook URLs may only reach the public internet: https, public addresses, checked when an
endpoint is saved and again on every connection (a name may resolve elsewhere later: DNS
rebinding). `LASTMILE_WEBHOOKS_ALLOW_PRIVATE=1` allows http and private/loopback addresses for
development and tests.
"""

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from backend.lib.errors import Invalid


class UnsafeAddress(Exception):
    """A webhook host resolved to an address that is not public."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allow_private: bool) -> str:
    """The URL's host, when its form is acceptable; 422 naming `url` otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise Invalid("Not a URL", field="url") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise Invalid("Webhook URLs must use https", field="url", code="url_not_allowed")
    if not host or parts.username or parts.password:
        raise Invalid("The URL needs a host and no credentials", field="url")
    return host


async def check_destination(url: str, allow_private: bool) -> None:
    """Refuse (422) a URL whose host does not resolve, or resolves to a non-public address."""
    host = check_url(url, allow_private)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise Invalid(f"{host} does not resolve", field="url", code="url_not_allowed") from None
    if not infos or not all(is_public(str(info[4][0])) for info in infos):
        raise Invalid(
            f"{host} resolves to a private or reserved address",
            field="url",
            code="url_not_allowed",
        )


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing any answer with a non-public address: the check is made on
    the very addresses the connection will use."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not is_public(result["host"]):
                raise UnsafeAddress(f"{host} resolves to non-public {result['host']}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def resolver(allow_private: bool) -> Any:
    return DefaultResolver() if allow_private else PublicOnlyResolver()
