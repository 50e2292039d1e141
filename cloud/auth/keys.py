"""Key material: the persisted auth secret and what is derived from it.

One random secret (32 bytes, in a 0600 file in the data dir, made on first start)
yields, through HKDF with distinct labels:

- an Ed25519 key that signs access tokens (EdDSA), so edges can check JWTs with
  the public half alone (`jwks()`);
- an HMAC key for the login session cookie, which never leaves the cloud.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET_BYTES = 32
# Shorter secrets would make the derived keys guessable; a typo'd file should fail loudly.
MIN_SECRET_BYTES = 32
SECRET_FILE_NAME = "auth-secret.key"


def load_or_create_secret(path: str | Path) -> bytes:
    """Read the auth secret from `path`, creating it (mode 0600) if it does not exist.

    The file holds the secret hex-encoded on one line.

    Raises:
        ValueError: the file exists but does not hold at least 32 bytes of hex.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    secret = secrets.token_bytes(SECRET_BYTES)
    with os.fdopen(fd, "w") as file:
        file.write(secret.hex() + "\n")
        file.flush()
        os.fsync(file.fileno())
    return secret


def _read_secret(path: Path) -> bytes:
    try:
        secret = bytes.fromhex(path.read_text().strip())
    except ValueError:
        secret = b""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"{str(path)!r} does not hold an auth secret (32 or more bytes of hex)")
    return secret


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"transom-auth/" + label).derive(secret)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class KeyRing:
    """The keys derived from one auth secret."""

    signing_key: Ed25519PrivateKey
    verify_key: Ed25519PublicKey
    key_id: str
    session_key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> KeyRing:
        """Derive the keys; the same secret always gives the same keys.

        Raises:
            ValueError: the secret is shorter than 32 bytes.
        """
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the auth secret has {len(secret)} bytes; it needs at least 32")
        signing = Ed25519PrivateKey.from_private_bytes(_derive(secret, b"jwt-ed25519"))
        public = signing.public_key()
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(
            signing_key=signing,
            verify_key=public,
            key_id=hashlib.sha256(raw).hexdigest()[:16],
            session_key=_derive(secret, b"session-hmac"),
        )

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK set (RFC 8037 OKP), for edges to verify access tokens."""
        raw = self.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": _b64url(raw),
                    "kid": self.key_id,
                    "alg": "EdDSA",
                    "use": "sig",
                }
            ]
        }
