"""Opening a config store from a URL: `sqlite:///path`, `postgresql://...` or `rethinkdb://...`."""

from __future__ import annotations

from urllib.parse import urlsplit

from cloud.store.base import ConfigStore, Validator
from cloud.store.errors import EngineUnavailable
from cloud.store.postgres import PostgresStore
from cloud.store.rethinkdb import RethinkStore
from cloud.store.sqlite import SQLiteStore

# Engines the seam is designed for but this build cannot open yet (none now).
RESERVED_SCHEMES: dict[str, str] = {}
POSTGRES_SCHEMES = ("postgresql", "postgres")


async def open_store(url: str, *, validator: Validator | None = None) -> ConfigStore:
    """Open the store a URL names; the caller must `aclose()` it (or use `async with`).

    Args:
        url: `sqlite:///relative/file.db`, `sqlite:////absolute/file.db`, a bare file path,
            `postgresql://user@host:5432/dbname` (any libpq URL), or
            `rethinkdb://host:28015/db` (several comma-separated hosts for a cluster).
        validator: checks each document before it is written; defaults to
            `sync.model.validate_document`.

    Raises:
        EngineUnavailable: the URL names an engine this build cannot open.
        ValueError: the URL's scheme is unknown, or it names no file.
        StoreError: the database cannot be opened.
    """
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in RESERVED_SCHEMES:
        raise EngineUnavailable(
            f"the {RESERVED_SCHEMES[scheme]} store is not available yet; use sqlite:///path/to/file.db"
        )
    if scheme == "rethinkdb":
        return await RethinkStore.open(url, validator=validator)
    if scheme in POSTGRES_SCHEMES:
        return await PostgresStore.open(url, validator=validator)
    if scheme == "sqlite":
        path = url[len("sqlite://") :]
        path = path[1:] if path.startswith("/") else path  # sqlite:///a.db is relative, ////a.db absolute
    elif scheme:
        raise ValueError(f"unknown store URL scheme {scheme!r} in {url!r}; use sqlite:///path/to/file.db")
    else:
        path = url
    if not path:
        raise ValueError(f"{url!r} names no database file")
    return await SQLiteStore.open(path, validator=validator)
