"""The concrete transports of the Driver SDK, one module each.

    tcp.TCPTransport            stream: TCP, or TLS over TCP (tls.client_ssl_context)
    udp.UDPTransport            stream: one datagram per chunk
    websocket.WebSocketTransport stream: one WebSocket message per chunk (ws://, wss://)
    http.HTTPClient             request: get/post/put/delete on httpx, errors translated
"""

from __future__ import annotations
