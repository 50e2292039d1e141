"""`--listen HOST:PORT`, checked the same way by `transom cloud run` and `transom edge run`."""

from __future__ import annotations


class ListenAddressInvalid(ValueError):
    """Raised when `--listen` is not HOST:PORT with a port in 0..65535."""


def check_listen(listen: str, *, example: str = "127.0.0.1:8080") -> str:
    """Check a HOST:PORT address (`[::1]:8080` for IPv6) and return it.

    Raises:
        ListenAddressInvalid: naming the problem (with `example` as a good address).
    """
    host, colon, port = listen.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65_535:
        raise ListenAddressInvalid(f"--listen must be HOST:PORT (e.g. {example}), not {listen!r}")
    return listen
