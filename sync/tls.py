"""TLS options of a listener (`--tls-cert/--tls-key`), checked before anything starts, on cloud and edge.

Both the cloud's API and an edge node's local API serve HTTPS and WSS when given a PEM
certificate (chain) and its private key; a typo must be an error, never a plain-HTTP server.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path


class TlsOptionsInvalid(ValueError):
    """Raised when --tls-cert and --tls-key are not given together, or a file cannot be read
    or is not a certificate and key that go together. Not raised for a client's failed handshake."""


def check_tls(cert: str | Path | None, key: str | Path | None) -> None:
    """Check the TLS files before anything starts, so a typo is an error, not a plain-HTTP server.

    Raises:
        TlsOptionsInvalid: naming the option and the problem.
    """
    if bool(cert) != bool(key):
        raise TlsOptionsInvalid("--tls-cert and --tls-key go together: give both, or neither")
    for option, path in (("--tls-cert", cert), ("--tls-key", key)):
        if path and not os.access(path, os.R_OK):
            raise TlsOptionsInvalid(f"{option} {str(path)!r} is not a readable file")


def server_ssl_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server context for the certificate chain and key (TLS 1.2 or later, HTTP/1.1 by ALPN).

    Raises:
        TlsOptionsInvalid: a file is unreadable, or not a PEM certificate and its key.
    """
    check_tls(cert, key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise TlsOptionsInvalid(f"--tls-cert/--tls-key cannot be loaded: {exc}") from None
    return context
