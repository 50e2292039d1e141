"""Fixtures for auth tests: a real SQLite store and auth database in tmp_path, and an AuthService."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cloud.auth.auth_db import AuthDB
from cloud.auth.passwords import Passwords
from cloud.auth.service import AuthService
from cloud.store.sqlite import SQLiteStore

# Cheap argon2 parameters keep the suite fast; the format and checks are the same.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
SECRET = bytes(range(32))
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "store.db")
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def auth_db(tmp_path: Path) -> AsyncIterator[AuthDB]:
    db = await AuthDB.open(tmp_path / "auth.db")
    try:
        yield db
    finally:
        await db.aclose()


@pytest.fixture
async def auth(store: SQLiteStore, auth_db: AuthDB) -> AuthService:
    """An AuthService with the first admin created (password ADMIN_PASSWORD)."""
    service = AuthService(store, secret=SECRET, db=auth_db, passwords=FAST_PASSWORDS, domain="localhost")
    await service.ensure_first_admin(ADMIN_PASSWORD)
    return service
