"""Start-up: the admin password from the option or environment, refusing without one, Backoffice's app."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cloud.auth.bootstrap import ADMIN_PASSWORD_ENV, first_admin_password, start_auth
from cloud.auth.errors import FirstAdminPasswordMissing
from cloud.store.sqlite import SQLiteStore

from .conftest import FAST_PASSWORDS


def test_admin_password_from_option_then_environment() -> None:
    assert ADMIN_PASSWORD_ENV == "TRANSOM_ADMIN_PASSWORD"
    assert first_admin_password("opt", {ADMIN_PASSWORD_ENV: "env"}) == "opt"
    assert first_admin_password(None, {ADMIN_PASSWORD_ENV: "env"}) == "env"
    assert first_admin_password(None, {ADMIN_PASSWORD_ENV: ""}) is None
    assert first_admin_password(None, {}) is None


async def test_start_refuses_an_empty_store_without_a_password(store: SQLiteStore, tmp_path: Path) -> None:
    with pytest.raises(FirstAdminPasswordMissing) as caught:
        await start_auth(store, tmp_path, admin_password=None, passwords=FAST_PASSWORDS)
    assert "--admin-password" in caught.value.message and ADMIN_PASSWORD_ENV in caught.value.message


async def test_start_creates_admin_authority_and_backoffice_app(store: SQLiteStore, tmp_path: Path) -> None:
    auth = await start_auth(
        store,
        tmp_path,
        admin_password="first-pw-1",
        public_origin="https://transom.example.com",
        front_end_apps=[("backoffice", "https://transom.example.com/backoffice/oauth-resp.html")],
        passwords=FAST_PASSWORDS,
    )
    try:
        admin = await auth.users.check_login("admin", "first-pw-1", address=None)
        authority = await store.get("authorities", admin["authority_id"])
        assert authority is not None and authority["domain"] == "transom.example.com"
        redirect = "https://transom.example.com/backoffice/oauth-resp.html"
        app = await auth.apps.get(hashlib.md5(redirect.encode()).hexdigest())
        assert app is not None and app["redirect_uri"] == redirect
        assert (tmp_path / "auth-secret.key").stat().st_mode & 0o777 == 0o600
    finally:
        await auth.aclose()
    # A second start on the same data: no password needed, same admin, same app.
    again = await start_auth(
        store, tmp_path, admin_password=None, public_origin="https://transom.example.com"
    )
    await again.aclose()
