"""Trusting a reverse proxy's X-Forwarded-Proto/-Host/-For, only from the proxies named by --trust-proxy.

Behind nginx or a TLS terminator the cloud sees the proxy's connection: plain HTTP from
127.0.0.1, with whatever Host the proxy passes. Its login checks (same-origin form posts,
`continue` URLs on this host), its secure cookies and the authority it picks by host need
the browser's scheme and host. A proxy tells them in X-Forwarded-* headers, but anyone can
send those headers, so they are believed only when the connection comes from an address
given with `--trust-proxy` (an IP or a network such as 10.0.0.0/8); from any other peer
they are ignored, as if absent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# A forwarded host or scheme longer than this is not one (and is ignored).
_MAX_HOST = 255


class TrustedProxyInvalid(ValueError):
    """Raised when a --trust-proxy value is not an IP address or network."""


def parse_trusted(values: Iterable[str]) -> tuple[Network, ...]:
    """The networks of `--trust-proxy` values (`127.0.0.1`, `10.0.0.0/8`, `::1`).

    Raises:
        TrustedProxyInvalid: naming the bad value.
    """
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise TrustedProxyInvalid(f"--trust-proxy {value!r} is not an IP address or network") from None
    return tuple(networks)


def _trusted(peer: str | None, networks: tuple[Network, ...]) -> bool:
    if not peer or not networks:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _first(value: str) -> str:
    """The first (client-most) entry of a comma-separated forwarded header."""
    return value.split(",", 1)[0].strip()


class ForwardedHeaders:
    """ASGI middleware: a trusted proxy's X-Forwarded-* replace the scheme, Host and client address."""

    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _trusted(
            (scope.get("client") or (None,))[0], self.trusted
        ):
            scope = self._rewritten(scope)
        await self.app(scope, receive, send)

    @staticmethod
    def _rewritten(scope: Scope) -> Scope:
        headers = dict(scope["headers"])
        changed = dict(scope)
        proto = _first(headers.get(b"x-forwarded-proto", b"").decode("latin-1")).lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            changed["scheme"] = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto
        host = _first(headers.get(b"x-forwarded-host", b"").decode("latin-1"))
        if host and len(host) <= _MAX_HOST and all(c.isalnum() or c in ".-:[]" for c in host):
            changed["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [
                (b"host", host.encode("latin-1"))
            ]
        # The entry the trusted proxy itself appended (the last): earlier ones the client may forge.
        client = headers.get(b"x-forwarded-for", b"").decode("latin-1").rsplit(",", 1)[-1].strip()
        try:
            ipaddress.ip_address(client)
        except ValueError:
            return changed
        changed["client"] = (client, 0)
        return changed
