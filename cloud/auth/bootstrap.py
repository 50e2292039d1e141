"""Starting auth in a cloud process: the data dir's secret and database, the first admin, front ends' apps."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio

from cloud.auth.auth_db import AUTH_DB_FILE_NAME, AuthDB
from cloud.auth.keys import SECRET_FILE_NAME, load_or_create_secret
from cloud.auth.oauth_apps import OAuthApps, backoffice_redirect_uri, console_redirect_uri
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
    **options: Any,
) -> AuthService:
    """Open auth for `transom cloud run`: the first admin on an empty store, Backoffice's OAuth app.

    Args:
        admin_password: from `first_admin_password(...)`; needed only if the store has no users.
        public_origin: e.g. `https://transom.example.com`; registers PlaceOS Backoffice's
            app (client_id = md5 of `<origin>/backoffice/oauth-resp.html`) and Transom's
            console's (`register_front_ends`) if not yet there.

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
        if public_origin:
            await register_front_ends(service.apps, public_origin)
    except BaseException:
        with trio.CancelScope(shield=True):
            await service.aclose()
        raise
    return service


async def register_front_ends(apps: OAuthApps, origin: str) -> None:
    """The OAuth apps of the front ends served from `origin`: PlaceOS Backoffice and Transom's console.

    Both are public clients (authorization code with PKCE); their client ids are the MD5 hex
    of their redirect URIs, as PlaceOS's front ends compute them.
    """
    await apps.ensure("Backoffice", backoffice_redirect_uri(origin))
    await apps.ensure("Transom console", console_redirect_uri(origin))
