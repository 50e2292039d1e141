"""SNMP trap receiver on pysnmp 7: listens on a UDP port and hands each v1/v2c trap over as a dict.

The edge's dispatch uses it to turn traps from UPSs and other agents into module events.
pysnmp's receiver is asyncio-only, so it runs through the asyncio bridge; run it inside
`open_asyncio_loop()`. pysnmp calls back on the trio thread, and the callback only puts
the trap on a bounded trio channel; traps that arrive while that channel is full are
counted in `dropped`, never silently lost.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

import trio
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv

from drivers.sdk.errors import ConnectError
from drivers.sdk.transports.asyncio_bridge import current_asyncio_loop, run_aio
from drivers.sdk.transports.snmp import close_engine, to_python

# Traps held for a slow consumer before new ones are dropped (and counted).
QUEUE_SIZE = 1000
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"  # the varbind that names a v2c trap (v1 traps are mapped to it)
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"

Trap = dict[str, Any]


class SNMPTrapReceiver:
    """Receives SNMP v1 and v2c traps on `host:port` (port 0: any free port, see `.port`).

    Each trap is a dict: {"source": (ip, port), "community": str, "trap_oid": str,
    "uptime": int | None, "varbinds": [(oid, value), ...]}, with values as plain Python
    (see snmp.to_python) and without the snmpTrapOID and sysUpTime varbinds. pysnmp maps
    a v1 trap to its v2c form (RFC 3584), so `trap_oid` is set for both. Traps with a
    community not in `communities` are discarded by pysnmp.

    Use as `async with SNMPTrapReceiver(port=162) as traps: async for trap in traps: ...`.
    """

    def __init__(
        self, host: str = "0.0.0.0", port: int = 162, *, communities: Sequence[str] = ("public",)
    ) -> None:
        self.host = host
        self.port = port
        self._communities = list(communities)
        self.dropped = 0
        self._send, self._receive = trio.open_memory_channel[Trap](QUEUE_SIZE)
        self._loop: Any = None
        self._engine: Any = None
        self._community: Any = None  # of the message being processed (pysnmp's own approach)

    async def open(self) -> None:
        """Start listening.

        Raises:
            ConnectError: the port cannot be bound (in use, or privileged).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConnectError(f"cannot listen for SNMP traps on udp {self.host}:{self.port}: {exc}") from exc
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._loop = current_asyncio_loop()
        await run_aio(self._start, sock, loop=self._loop)

    async def _start(self, sock: socket.socket) -> None:
        snmp_engine = engine.SnmpEngine()
        transport = udp.UdpAsyncioTransport().open_server_mode(sock=sock)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)
        for index, community in enumerate(self._communities):
            config.add_v1_system(snmp_engine, f"trap-area-{index}", community)
        snmp_engine.observer.register_observer(self._note_community, "rfc2576.processIncomingMsg")
        ntfrcv.NotificationReceiver(snmp_engine, self._on_trap)
        self._engine = snmp_engine

    def _note_community(self, snmp_engine: Any, execpoint: Any, variables: Any, cb_ctx: Any) -> None:
        self._community = variables.get("communityName")

    def _on_trap(
        self,
        snmp_engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        var_binds: Sequence[Any],
        cb_ctx: Any,
    ) -> None:
        _, address = snmp_engine.message_dispatcher.get_transport_info(state_reference)
        values = [(str(name), to_python(value)) for name, value in var_binds]
        named = dict(values)
        trap: Trap = {
            "source": (str(address[0]), int(address[1])),
            "community": to_python(self._community) if self._community is not None else None,
            "trap_oid": named.get(SNMP_TRAP_OID),
            "uptime": named.get(SYS_UPTIME),
            "varbinds": [(oid, value) for oid, value in values if oid not in (SNMP_TRAP_OID, SYS_UPTIME)],
        }
        try:
            self._send.send_nowait(trap)
        except trio.WouldBlock:
            self.dropped += 1

    async def receive(self) -> Trap:
        """Wait for the next trap."""
        return await self._receive.receive()

    def __aiter__(self) -> AsyncIterator[Trap]:
        return self._receive.__aiter__()

    async def aclose(self) -> None:
        snmp_engine, self._engine = self._engine, None
        await close_engine(snmp_engine, self._loop)
        await self._send.aclose()

    async def __aenter__(self) -> SNMPTrapReceiver:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
