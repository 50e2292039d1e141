"""The concrete transports of the Driver SDK, one module each.

    tcp.TCPTransport            stream: TCP, or TLS over TCP (tls.client_ssl_context)
    udp.UDPTransport            stream: one datagram per chunk
    websocket.WebSocketTransport stream: one WebSocket message per chunk (ws://, wss://)
    http.HTTPClient             request: get/post/put/delete on httpx, errors translated
    asyncio_bridge              open_asyncio_loop() / run_aio(): asyncio-only libraries under trio
    ssh.SSHShellTransport       stream: an interactive shell over SSH (asyncssh)
    ssh.SSHExecClient           request: run(command) -> SSHResult(exit_status, stdout, stderr)
    snmp.SNMPClient             request: get/set/walk over SNMP v2c or v3 (pysnmp)
    snmp_traps.SNMPTrapReceiver listener: v1/v2c traps as dicts
"""

from __future__ import annotations
