"""Password hashing with argon2id; hashing runs in a worker thread so the trio loop stays free."""

from __future__ import annotations

import contextlib

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106 "low memory": t=3, m=64 MiB, p=4), ~50 ms a hash here.
DEFAULT_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a miss costs what a hit costs.
_DUMMY_HASH = DEFAULT_HASHER.hash("transom: no such account")


class Passwords:
    """Hash and verify passwords with one argon2 parameter set."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or DEFAULT_HASHER
        self._dummy = _DUMMY_HASH if hasher is None else self._hasher.hash("transom: no such account")

    def hash_password(self, password: str) -> str:
        """An argon2id hash of `password` (blocking; see `hash_async`)."""
        return self._hasher.hash(password)

    def verify_password(self, digest: str, password: str) -> bool:
        """Whether `password` matches `digest`; an empty or malformed digest never matches."""
        if not digest:
            self._burn(password)
            return False
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, digest: str) -> bool:
        """Whether `digest` was made with other parameters than ours."""
        try:
            return self._hasher.check_needs_rehash(digest)
        except InvalidHashError:
            return True

    async def hash_async(self, password: str) -> str:
        return await trio.to_thread.run_sync(self.hash_password, password)

    async def verify_async(self, digest: str, password: str) -> bool:
        return await trio.to_thread.run_sync(self.verify_password, digest, password)

    def _burn(self, password: str) -> None:
        with contextlib.suppress(VerificationError):
            self._hasher.verify(self._dummy, password)
