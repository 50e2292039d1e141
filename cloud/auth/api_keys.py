"""New API keys `<key id>.<secret>`; they are checked with `sync.credentials` (the edge checks them too).

The secret is 256 random bits, so a plain SHA-256 of it is as strong as a slow hash
and cheap enough to check on every request; only that hash is stored.
"""

from __future__ import annotations

import secrets

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh random secret (URL-safe text, no dots)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def compose(key_id: str, secret: str) -> str:
    """The key a client sends."""
    return f"{key_id}.{secret}"
