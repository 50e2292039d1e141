"""Starting auth in a cloud process: the data dir's secret and database, the first admin, front ends' apps."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio

from cloud.auth.auth_db import AUTH_DB_FILE_NAME, AuthDB
from cloud.auth.keys import SECRET_FILE_NAME, load_or_create_secret
from cloud.auth.service import AuthService
from cloud.store.base import ConfigStore

ADMIN_PASSWORD_ENV = "TRANSOM_ADMIN_PASSWORD"


def first_admin_password(option: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The first admin's password: `--admin-password` if given, else $TRANSOM_ADMIN_PASSWORD."""
    if option:
        return option
    return (os.environ if environ is None else environ).get(ADMIN_PASSWORD_ENV) or None


async def open_auth_service(store: ConfigStore, data_dir: str | Path, **options: Any) -> AuthService:
    """An AuthService whose secret and bookkeeping persist in `data_dir`; `aclose()` it.

    The secret file (mode 0600) and the auth database are created on first start.
    `options` are AuthService's keyword arguments.
    """
    data_dir = Path(data_dir)
    secret = await trio.to_thread.run_sync(load_or_create_secret, data_dir / SECRET_FILE_NAME)
    db = await AuthDB.open(data_dir / AUTH_DB_FILE_NAME)
    return AuthService(store, secret=secret, db=db, **options)


async def start_auth(
    store: ConfigStore,
    data_dir: str | Path,
    *,
    admin_password: str | None,
    public_origin: str | None = None,
    front_end_apps: Sequence[tuple[str, str]] = (),
    **options: Any,
) -> AuthService:
    """Open auth for `transom cloud run`: the first admin on an empty store, the front ends' apps.

    Args:
        admin_password: from `first_admin_password(...)`; needed only if the store has no users.
        public_origin: e.g. `https://transom.example.com`: the first authority's domain.
        front_end_apps: (name, redirect URI) of each OAuth application the served front
            ends need (`cloud.www.front_end_apps`); each is registered if not yet there
            (an existing one, perhaps edited by an admin, is left as it is).

    Raises:
        FirstAdminPasswordMissing: the store has no users and no password was given
            (the caller should refuse to start, printing the error's message).
    """
    if public_origin and "domain" not in options:
        options["domain"] = urlsplit(public_origin).netloc  # the first authority's domain
    service = await open_auth_service(store, data_dir, **options)
    try:
        await service.ensure_first_admin(admin_password)
        await service.users.default_authority()
        for name, redirect_uri in front_end_apps:
            await service.apps.ensure(name, redirect_uri)
    except BaseException:
        with trio.CancelScope(shield=True):
            await service.aclose()
        raise
    return service
