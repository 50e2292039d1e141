"""Settings encryption at rest: AES-256-GCM under a key derived from the server secret.

Text format: `$transom$1$<base64url(nonce || ciphertext || tag)>`, the `1`
naming this scheme so a later one can sit beside it. The associated data is
the encryption level and a record id (the caller's `aad`, normally the
settings id), so a ciphertext copied to another record, or relabelled to a
lower level, fails to decrypt instead of leaking.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .clearance import EncryptionLevel, coerce_encryption_level
from .errors import SettingsDecryptionFailed

ENCRYPTED_PREFIX = "$transom$"
_VERSION = "1"
_HEADER = f"{ENCRYPTED_PREFIX}{_VERSION}$"
# 96 bits is GCM's native nonce size; random nonces are safe for far more
# messages than one server will ever encrypt under one key (~2**32).
_NONCE_BYTES = 12
# Binds the derived key to this use, so the same server secret can feed other keys.
_HKDF_INFO = b"transom settings at rest v1"


def is_encrypted(text: str) -> bool:
    """Whether `text` is in our encrypted format (of any version)."""
    return text.startswith(ENCRYPTED_PREFIX)


class SettingsCipher:
    """Encrypts and decrypts settings text with one server secret.

    Args:
        secret: the server secret (bytes, or text taken as UTF-8); any length,
            since HKDF stretches or compresses it to a 256-bit key.

    Raises:
        ValueError: the secret is empty.
    """

    def __init__(self, secret: bytes | str) -> None:
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if not raw:
            raise ValueError("the server secret is empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SettingsCipher(<secret>)"  # never show key material in logs

    def encrypt(self, text: str, *, level: EncryptionLevel | str | int, aad: str) -> str:
        """Encrypt settings text for storage.

        Text at level none, and text already encrypted, come back unchanged
        (as in PlaceOS), so saving a document twice never double-encrypts.

        Args:
            text: the plaintext settings (JSON or YAML).
            level: the document's encryption level.
            aad: the record the ciphertext belongs to, normally the settings id.
        """
        resolved = _level(level)
        if resolved is EncryptionLevel.NONE or is_encrypted(text):
            return text
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, text.encode(), _associated_data(resolved, aad))
        return _HEADER + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def decrypt(self, text: str, *, level: EncryptionLevel | str | int, aad: str) -> str:
        """Decrypt settings text encrypted by `encrypt` with the same level and aad.

        Plaintext (level none, or stored before encryption) comes back unchanged.

        Raises:
            SettingsDecryptionFailed: another secret, level or aad, a changed
                ciphertext, or an unknown format version.
        """
        resolved = _level(level)
        if not is_encrypted(text):
            return text
        if not text.startswith(_HEADER):
            raise SettingsDecryptionFailed(f"settings of {aad!r}: unknown encryption format {text[:12]!r}")
        body = text[len(_HEADER) :]
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise SettingsDecryptionFailed(f"settings of {aad!r}: ciphertext is not base64") from None
        if len(blob) < _NONCE_BYTES + 16:
            raise SettingsDecryptionFailed(f"settings of {aad!r}: ciphertext is truncated")
        try:
            plain = self._aead.decrypt(
                blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _associated_data(resolved, aad)
            )
        except InvalidTag:
            raise SettingsDecryptionFailed(
                f"settings of {aad!r} do not decrypt: another server secret, another record "
                f"or level than {resolved.value!r}, or changed ciphertext"
            ) from None
        return plain.decode()


def _level(level: Any) -> EncryptionLevel:
    return EncryptionLevel(coerce_encryption_level(level))


def _associated_data(level: EncryptionLevel, aad: str) -> bytes:
    # NUL cannot appear in a level name, so the two parts cannot be confused.
    return f"transom-settings\x00{level.value}\x00{aad}".encode()
