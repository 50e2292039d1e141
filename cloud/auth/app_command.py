"""`transom cloud app ...`: register, list and remove OAuth applications in a cloud's data directory.

Runs beside a running cloud (auth's database is SQLite in WAL mode; the token endpoint reads
each application afresh) or without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import trio

from cloud.auth.auth_db import AUTH_DB_FILE_NAME, AuthDB
from cloud.auth.errors import OAuthError
from cloud.auth.oauth_apps import AppExists, OAuthApps, client_id_for


class NoCloudHere(ValueError):
    """Raised when --data-dir is not a directory (the cloud makes it on its first start)."""


EXPECTED_ERRORS = (NoCloudHere, AppExists, LookupError, ValueError, OAuthError, OSError)
"""What the commands report as a one-line error (anything else is a bug and shows a traceback)."""


async def _open(data_dir: str | Path) -> AuthDB:
    directory = Path(data_dir)
    if not await trio.Path(directory).is_dir():
        raise NoCloudHere(
            f"{str(directory)!r} is not a directory: start the cloud once with `transom cloud run`"
        )
    return await AuthDB.open(directory / AUTH_DB_FILE_NAME)


async def add_app(
    data_dir: str | Path,
    name: str,
    redirect_uri: str,
    *,
    scopes: Iterable[str] = (),
    confidential: bool = False,
    skip_authorization: bool = False,
) -> dict[str, Any]:
    """Register an application; returns it, with its `secret` this once.

    Raises:
        One of EXPECTED_ERRORS (AppExists if the redirect URI has an application already).
    """
    db = await _open(data_dir)
    try:
        return await OAuthApps(db).register(
            name,
            redirect_uri.strip(),
            scopes=list(scopes),
            confidential=confidential,
            skip_authorization=skip_authorization,
            replace=False,
        )
    finally:
        await db.aclose()


async def list_apps(data_dir: str | Path) -> list[dict[str, Any]]:
    """Every registered application, oldest first."""
    db = await _open(data_dir)
    try:
        return await OAuthApps(db).all()
    finally:
        await db.aclose()


async def remove_app(data_dir: str | Path, app: str) -> dict[str, Any]:
    """Remove the application with this client_id or redirect URI; returns what was removed.

    Raises:
        LookupError: there is no such application.
    """
    db = await _open(data_dir)
    try:
        apps = OAuthApps(db)
        client_id = client_id_for(app) if "://" in app else app
        found = await apps.get(client_id)
        if found is None or not await apps.remove(client_id):
            raise LookupError(f"no application has client_id or redirect URI {app!r}")
        return found
    finally:
        await db.aclose()
