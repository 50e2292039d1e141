"""Shared fixtures for the transport tests: a self-signed certificate for the TLS peers."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tls_certs import write_self_signed


@dataclass(frozen=True)
class SelfSignedCert:
    """A certificate for localhost and 127.0.0.1, as a device would present one."""

    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCert:
    cert_path, key_path = write_self_signed(tmp_path_factory.mktemp("tls"))
    return SelfSignedCert(cert_path, key_path)
