"""The two shapes of transport a driver can sit on, as abstract base classes.

A *stream* transport (TCP, TLS, UDP, SSH shell, WebSocket) carries bytes both ways: the
runtime connects it, feeds what arrives through the module's tokenizer into `received()`,
and the command queue writes to it. A *request* transport (HTTP, SSH exec, SNMP) answers
one request with one reply; a driver calls it directly (`await self.http.get(...)`).

Concrete transports live in `drivers/sdk/transports/`; this file is the contract between
them and the runtime, so either side can change without the other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class StreamTransport(ABC):
    """One connection to one device that carries bytes both ways.

    A transport instance is used by exactly one task at a time for sending and one for
    receiving (the runtime guarantees it); it is connected at most once: to reconnect, the
    runtime builds a new instance.
    """

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection.

        Raises:
            ConnectError: it could not be opened.
        """

    @abstractmethod
    async def send(self, data: bytes) -> None:
        """Write all of `data`.

        Raises:
            ConnectionLostError: the peer has gone.
        """

    @abstractmethod
    async def receive(self) -> bytes:
        """Return the next chunk of bytes (never empty).

        Raises:
            ConnectionLostError: the peer closed or broke the connection.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Close the connection; safe to call more than once, and when never connected."""
