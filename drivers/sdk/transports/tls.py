"""TLS client contexts for devices, most of which present self-signed certificates."""

from __future__ import annotations

import ssl


def client_ssl_context(*, verify: bool = True, cafile: str | None = None) -> ssl.SSLContext:
    """Build the SSL context a transport uses to reach one device.

    Args:
        verify: check the device's certificate chain and host name. Most devices ship a
            self-signed certificate, so a module's settings may turn this off; it is an
            explicit choice, never a fallback.
        cafile: a PEM file of extra trusted certificates (e.g. the device's own), used
            only when `verify` is true.

    Returns:
        A client-side context; with `verify` false it accepts any certificate.
    """
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=cafile)
