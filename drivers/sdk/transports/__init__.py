"""The concrete transports of the Driver SDK, one module each.

    tcp.TCPTransport            stream: TCP, or TLS over TCP (tls.client_ssl_context)
    udp.UDPTransport            stream: one datagram per chunk
"""

from __future__ import annotations
