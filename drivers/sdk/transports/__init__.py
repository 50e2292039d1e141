"""The concrete transports of the Driver SDK, one module each.

    tcp.TCPTransport            stream: TCP, or TLS over TCP (tls.client_ssl_context)
"""

from __future__ import annotations
