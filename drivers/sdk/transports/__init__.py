"""The concrete transports of the Driver SDK, one module each.

    tcp.TCPTransport             stream: TCP, or TLS over TCP (tls.client_ssl_context)
    udp.UDPTransport             stream: one datagram per chunk
    websocket.WebSocketTransport stream: one WebSocket message per chunk (ws://, wss://)
    http.HTTPClient              request: get/post/put/delete on httpx, errors translated
    asyncio_bridge               open_asyncio_loop() / run_aio(): asyncio-only libraries under trio
    ssh.SSHShellTransport        stream: an interactive shell over SSH (asyncssh)
    ssh.SSHExecClient            request: run(command) -> SSHResult(exit_status, stdout, stderr)
    snmp.SNMPClient              request: get/set/walk over SNMP v2c or v3 (pysnmp)
    snmp_traps.SNMPTrapReceiver  listener: v1/v2c traps (and informs) as dicts
    snmp_trap_codec              peek/decode: one datagram -> a trap, or TrapRejected with its reason
    factories                    ModuleConfig -> transport, one function per kind

Importing this package registers a factory for every kind with the runtime's registry
(drivers.sdk.transport_registry), which imports it when it first meets a kind. SSH and
SNMP need an asyncio loop: the process that runs their modules wraps that work in
`async with open_asyncio_loop():` once.
"""

from __future__ import annotations

from drivers.sdk.transport_registry import register_transport
from drivers.sdk.transports.factories import FACTORIES


def register_all() -> None:
    """Register the factory of every bundled transport kind (replacing earlier ones)."""
    for kind, factory in FACTORIES.items():
        register_transport(kind, factory)


register_all()
