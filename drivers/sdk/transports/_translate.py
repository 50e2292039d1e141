"""Turn socket-level failures into the SDK's two transport errors, at one boundary."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from drivers.sdk.errors import ConnectError, ConnectionLostError

# What the socket layer raises when a peer cannot be reached or goes away. trio wraps OSError
# from a stream in BrokenResourceError; ssl.SSLError is an OSError but is named for clarity.
_NETWORK_ERRORS = (OSError, ssl.SSLError, trio.BrokenResourceError)


@contextmanager
def translate_connect_errors(peer: str) -> Iterator[None]:
    """Raise ConnectError for a network failure while opening a connection to `peer`."""
    try:
        yield
    except _NETWORK_ERRORS as exc:
        raise ConnectError(f"could not connect to {peer}: {describe(exc)}") from exc


@contextmanager
def translate_stream_errors(peer: str) -> Iterator[None]:
    """Raise ConnectionLostError for a network failure on an open connection to `peer`."""
    try:
        yield
    except _NETWORK_ERRORS as exc:
        raise ConnectionLostError(f"connection to {peer} lost: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """Say why, from the innermost cause: wrappers (trio's BrokenResourceError, httpx's
    ConnectError) often carry an empty message over the OSError or SSLError that explains."""
    while exc.__cause__ is not None or (exc.__context__ is not None and not str(exc)):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc) or type(exc).__name__
