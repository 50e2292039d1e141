"""Auth's own bookkeeping in a small SQLite file: OAuth apps, refresh tokens, codes, revocations.

These are not domain documents (the config store validates against sync.model's
tables and syncs to edges; none of this belongs there). Layout:

    oauth_apps(client_id, name, redirect_uri, secret_digest, owner_id, scopes, created_at,
               skip_authorization, confidential, updated_at)
    refresh_tokens(id, digest, user_id, client_id, scopes, expires_at, created_at,
                   family, used_at, access_jti, access_exp)
    auth_codes(digest, user_id, client_id, redirect_uri, scopes, challenge, method, expires_at)
    revoked(jti, expires_at)              -- revoked access tokens until they expire anyway

Secrets (refresh tokens, codes, client secrets) are stored as SHA-256 digests only.
A used refresh token is kept (marked `used_at`) until it expires, so presenting it again is
recognised as reuse: the whole family issued from the first login is then revoked, with the
access tokens issued beside it (RFC 9700 section 4.14.2).
Blocking sqlite3 calls run in a worker thread; one connection, guarded by a trio.Lock.
WAL with synchronous=FULL: an issued refresh token or a revocation survives kill -9.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import trio

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_apps (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    secret_digest TEXT NOT NULL,
    owner_id TEXT,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    family TEXT,
    used_at INTEGER,
    access_jti TEXT,
    access_exp INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id);
CREATE TABLE IF NOT EXISTS auth_codes (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    challenge TEXT NOT NULL,
    method TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
"""

# Columns added after the first release: a database made before them gains them on open.
_ADDED_COLUMNS = {
    "oauth_apps": (
        ("skip_authorization", "INTEGER NOT NULL DEFAULT 0"),
        ("confidential", "INTEGER NOT NULL DEFAULT 0"),
        ("updated_at", "INTEGER"),
    ),
    "refresh_tokens": (
        ("family", "TEXT"),
        ("used_at", "INTEGER"),
        ("access_jti", "TEXT"),
        ("access_exp", "INTEGER"),
    ),
}

AUTH_DB_FILE_NAME = "auth.db"


@dataclass(frozen=True)
class RefreshUse:
    """What presenting a refresh token found.

    `row` is the token (now marked used) when it was valid and unused. `reused` is True
    when it had been used before: its family is then deleted, and `revoke` lists the
    (jti, expires_at) of the family's access tokens that have yet to expire.
    """

    row: dict[str, Any] | None
    reused: bool = False
    revoke: tuple[tuple[str, int], ...] = ()
    user_id: str = ""


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    found = dict(row)
    if "scopes" in found:
        found["scopes"] = json.loads(found["scopes"])
    for flag in ("skip_authorization", "confidential"):
        if flag in found:
            found[flag] = bool(found[flag])
    return found


class AuthDB:
    """The bookkeeping database. Open with `AuthDB.open(path)` (":memory:" for tests); `aclose()` it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = trio.Lock()
        self._closed = False

    @classmethod
    def connect(cls, path: str | Path) -> AuthDB:
        """Open (creating if needed) the database at `path`, blocking; see `open`."""
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
        db.executescript(SCHEMA)
        _add_missing_columns(db)
        db.execute("CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family)")
        return cls(db)

    @classmethod
    async def open(cls, path: str | Path) -> AuthDB:
        """Open (creating if needed) the database at `path` (":memory:" for one that dies with it)."""
        return await trio.to_thread.run_sync(cls.connect, path)

    async def aclose(self) -> None:
        async with self._lock:
            if not self._closed:
                self._closed = True
                await trio.to_thread.run_sync(self._db.close)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            if self._closed:
                raise RuntimeError("the auth database is closed")
            return await trio.to_thread.run_sync(fn, self._db)

    # OAuth applications

    async def put_app(self, app: dict[str, Any]) -> None:
        """Insert or replace an OAuth application (keyed by client_id)."""
        row = {
            "skip_authorization": False,
            "confidential": False,
            "updated_at": app.get("created_at"),
            **app,
            "scopes": json.dumps(app.get("scopes", [])),
        }
        await self._run(
            partial(
                _execute,
                "INSERT OR REPLACE INTO oauth_apps (client_id, name, redirect_uri, secret_digest, owner_id,"
                " scopes, created_at, skip_authorization, confidential, updated_at) VALUES (:client_id,"
                " :name, :redirect_uri, :secret_digest, :owner_id, :scopes, :created_at,"
                " :skip_authorization, :confidential, :updated_at)",
                row,
            )
        )

    async def add_app(self, app: dict[str, Any]) -> bool:
        """Insert an OAuth application unless its client_id is taken; False if it was."""

        def add(db: sqlite3.Connection) -> bool:
            with db:
                db.execute("BEGIN IMMEDIATE")
                if db.execute("SELECT 1 FROM oauth_apps WHERE client_id = ?", (app["client_id"],)).fetchone():
                    return False
                row = {**app, "scopes": json.dumps(app.get("scopes", [])), "updated_at": app["created_at"]}
                db.execute(
                    "INSERT INTO oauth_apps (client_id, name, redirect_uri, secret_digest, owner_id, scopes,"
                    " created_at, skip_authorization, confidential, updated_at) VALUES (:client_id, :name,"
                    " :redirect_uri, :secret_digest, :owner_id, :scopes, :created_at, :skip_authorization,"
                    " :confidential, :updated_at)",
                    row,
                )
                return True

        return await self._run(add)

    async def get_app(self, client_id: str) -> dict[str, Any] | None:
        return await self._run(partial(_one, "SELECT * FROM oauth_apps WHERE client_id = ?", (client_id,)))

    async def list_apps(self) -> list[dict[str, Any]]:
        return await self._run(partial(_all, "SELECT * FROM oauth_apps ORDER BY created_at, client_id", ()))

    async def delete_app(self, client_id: str) -> bool:
        return await self._run(partial(_delete, "DELETE FROM oauth_apps WHERE client_id = ?", (client_id,)))

    # Refresh tokens

    async def put_refresh(
        self,
        *,
        id: str,
        digest: str,
        user_id: str,
        client_id: str,
        scopes: Iterable[str],
        expires_at: int,
        family: str,
        access_jti: str = "",
        access_exp: int = 0,
    ) -> None:
        row = (
            id,
            digest,
            user_id,
            client_id,
            json.dumps(list(scopes)),
            expires_at,
            int(time.time()),
            family,
            None,
            access_jti,
            access_exp,
        )
        await self._run(
            partial(
                _execute,
                "INSERT INTO refresh_tokens (id, digest, user_id, client_id, scopes, expires_at, created_at,"
                " family, used_at, access_jti, access_exp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        )

    async def use_refresh(self, id: str, digest: str, now: int) -> RefreshUse:
        """Mark the refresh token with this id and digest used, in one transaction.

        A token presented a second time deletes its whole family (see `RefreshUse`).
        """

        def use(db: sqlite3.Connection) -> RefreshUse:
            with db:
                db.execute("BEGIN IMMEDIATE")
                row = _row(
                    db.execute(
                        "SELECT * FROM refresh_tokens WHERE id = ? AND digest = ?", (id, digest)
                    ).fetchone()
                )
                if row is None:
                    return RefreshUse(None)
                family = row.get("family") or row["id"]
                if row.get("used_at") is None:
                    db.execute("UPDATE refresh_tokens SET used_at = ? WHERE id = ?", (now, id))
                    return RefreshUse(row)
                members = db.execute(
                    "SELECT access_jti, access_exp FROM refresh_tokens WHERE family = ? OR id = ?",
                    (family, family),
                ).fetchall()
                db.execute("DELETE FROM refresh_tokens WHERE family = ? OR id = ?", (family, family))
                revoke = tuple((jti, int(exp or 0)) for jti, exp in members if jti and int(exp or 0) > now)
                return RefreshUse(None, reused=True, revoke=revoke, user_id=row["user_id"])

        return await self._run(use)

    async def delete_refresh(self, id: str, digest: str) -> bool:
        return await self._run(
            partial(_delete, "DELETE FROM refresh_tokens WHERE id = ? AND digest = ?", (id, digest))
        )

    async def delete_refresh_for_user(self, user_id: str) -> int:
        """Drop every refresh token of a user (password change, user deleted)."""
        return await self._run(
            partial(_delete_count, "DELETE FROM refresh_tokens WHERE user_id = ?", (user_id,))
        )

    # Authorization codes

    async def put_code(
        self,
        *,
        digest: str,
        user_id: str,
        client_id: str,
        redirect_uri: str,
        scopes: Iterable[str],
        challenge: str,
        method: str,
        expires_at: int,
    ) -> None:
        row = (
            digest,
            user_id,
            client_id,
            redirect_uri,
            json.dumps(list(scopes)),
            challenge,
            method,
            expires_at,
        )
        await self._run(partial(_execute, "INSERT INTO auth_codes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row))

    async def take_code(self, digest: str) -> dict[str, Any] | None:
        """Delete and return the code with this digest (single use), or None."""
        return await self._run(
            partial(_one, "DELETE FROM auth_codes WHERE digest = ? RETURNING *", (digest,))
        )

    # Revoked access tokens

    async def revoke_jti(self, jti: str, expires_at: int) -> None:
        await self._run(partial(_execute, "INSERT OR IGNORE INTO revoked VALUES (?, ?)", (jti, expires_at)))

    async def is_revoked(self, jti: str) -> bool:
        """Whether the token with this id was revoked.

        Every authenticated request asks this: a primary-key lookup costs far less than a
        trip to a worker thread and back, so it runs here when nothing else holds the
        connection (and waits its turn in a thread when something does).
        """
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise RuntimeError("the auth database is closed")
        lookup = partial(_one, "SELECT 1 AS found FROM revoked WHERE jti = ?", (jti,))
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            return await self._run(lookup) is not None
        try:
            return lookup(self._db) is not None
        finally:
            self._lock.release()

    async def purge_expired(self, now: int) -> None:
        """Forget expired codes, refresh tokens and revocations."""

        def purge(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM auth_codes WHERE expires_at < ?", (now,))
                db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
                db.execute("DELETE FROM revoked WHERE expires_at < ?", (now,))

        await self._run(purge)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _execute(sql: str, params: Any, db: sqlite3.Connection) -> None:
    db.execute(sql, params)


def _one(sql: str, params: Any, db: sqlite3.Connection) -> dict[str, Any] | None:
    cursor = db.execute(sql, params)
    found = _row(cursor.fetchone())
    cursor.close()
    return found


def _all(sql: str, params: Any, db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [r for r in (_row(row) for row in db.execute(sql, params).fetchall()) if r is not None]


def _delete(sql: str, params: Any, db: sqlite3.Connection) -> bool:
    return db.execute(sql, params).rowcount > 0


def _delete_count(sql: str, params: Any, db: sqlite3.Connection) -> int:
    return db.execute(sql, params).rowcount
