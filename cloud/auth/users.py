"""Users and authorities as auth sees them: creating users, resolving login names, checking passwords."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from cloud.auth.errors import AuthenticationFailed, UserExists
from cloud.auth.passwords import Passwords
from cloud.auth.rate_limit import LoginLimiter
from cloud.store.base import ConfigStore, Filter, Query
from sync.model import Role

_SECRET_FIELDS = ("password_digest",)


def without_secrets(user: Mapping[str, Any]) -> dict[str, Any]:
    """A user document fit to return over the API (no password digest)."""
    return {key: value for key, value in user.items() if key not in _SECRET_FIELDS}


class UserDirectory:
    """Users and authorities in the config store, with argon2 passwords and rate-limited logins."""

    def __init__(
        self, store: ConfigStore, *, passwords: Passwords, limiter: LoginLimiter, domain: str
    ) -> None:
        self.store = store
        self.passwords = passwords
        self.limiter = limiter
        self.domain = domain

    async def default_authority(self) -> dict[str, Any]:
        """The first authority in the store, created (for `domain`) if there is none."""
        page = await self.store.query("authorities", Query(order_by=["created_at"], limit=1))
        if page.items:
            return page.items[0]
        authority = {
            "name": "Transom",
            "domain": self.domain,
            "login_url": "/auth/login?continue={{url}}",
            "logout_url": "/auth/logout",
        }
        change = await self.store.put("authorities", authority)
        assert change.document is not None
        return change.document

    async def authority_for_host(self, host: str | None) -> dict[str, Any]:
        """The authority whose domain is `host` (with or without its port), else the default one."""
        host = (host or "").strip().lower()
        for candidate in dict.fromkeys((host, host.rsplit(":", 1)[0])):
            if not candidate:
                continue
            page = await self.store.query(
                "authorities", Query(filters=[Filter.eq("domain", candidate)], limit=1)
            )
            if page.items:
                return page.items[0]
        return await self.default_authority()

    async def audience(self, user: Mapping[str, Any]) -> str:
        """The JWT `aud` for a user: their authority's domain."""
        authority = await self.store.get("authorities", user.get("authority_id", ""))
        return authority["domain"] if authority else self.domain

    async def count(self) -> int:
        return (await self.store.query("users", Query(limit=0))).total

    async def create(
        self,
        *,
        name: str,
        email: str = "",
        password: str | None = None,
        role: Role = Role.USER,
        login_name: str = "",
        authority_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Store a new user; returns the stored document (with its digest: see `without_secrets`).

        Raises:
            UserExists: a live user already has this e-mail or login name.
            DocumentInvalid: a field is malformed.
        """
        email = email.strip().lower()
        for field, value in (("email", email), ("login_name", login_name)):
            if value and await self._find(field, value):
                raise UserExists(f"a user with {field} {value!r} already exists")
        if authority_id is None:
            authority_id = (await self.default_authority())["id"]
        document = {
            **fields,
            "authority_id": authority_id,
            "name": name,
            "email": email,
            "login_name": login_name,
            "sys_admin": role is Role.ADMIN,
            "support": role is Role.SUPPORT,
            "password_digest": await self.passwords.hash_async(password) if password else "",
        }
        change = await self.store.put("users", document)
        assert change.document is not None
        return change.document

    async def set_password(self, user_id: str, password: str) -> None:
        """Replace a user's password digest.

        Raises:
            LookupError: there is no such user.
        """
        user = await self.store.get("users", user_id)
        if user is None:
            raise LookupError(f"no user {user_id!r}")
        digest = await self.passwords.hash_async(password)
        await self.store.put("users", {**user, "password_digest": digest, "updated_at": int(time.time())})

    async def find_login_user(self, username: str) -> dict[str, Any] | None:
        """The live user a login name means: by e-mail, then login name, then name (if unique)."""
        username = username.strip()
        if not username:
            return None
        for field, value in (("email", username.lower()), ("login_name", username), ("name", username)):
            found = await self._find(field, value)
            if len(found) == 1:
                return found[0]
            if found:
                return None  # ambiguous: refuse rather than guess
        return None

    async def _find(self, field: str, value: str) -> list[dict[str, Any]]:
        page = await self.store.query("users", Query(filters=[Filter.eq(field, value)], limit=2))
        return [user for user in page.items if not user.get("deleted")]

    async def check_login(self, username: str, password: str, *, address: str | None) -> dict[str, Any]:
        """Check a username and password, under the login rate limits; returns the user.

        An unknown user costs one argon2 check too, so timing does not tell who exists.

        Raises:
            LoginRateLimited: a limit that applies is full (the password is not checked);
                see rate_limit.py for the pair, account and address limits.
            AuthenticationFailed: invalid_credentials.
        """
        user = await self.find_login_user(username)
        # One budget per account, whichever of its names is tried.
        account = user["id"] if user else "name:" + username
        with self.limiter.attempt(account, address) as attempt:
            digest = user.get("password_digest", "") if user else ""
            if not await self.passwords.verify_async(digest, password) or user is None:
                attempt.failed()
                raise AuthenticationFailed("wrong username or password", error="invalid_credentials")
            attempt.succeeded()
        if self.passwords.needs_rehash(digest):
            await self.set_password(user["id"], password)
        return user

    async def live_user(self, user_id: str) -> dict[str, Any]:
        """The user, if they exist and are not deleted.

        Raises:
            AuthenticationFailed: user_disabled.
        """
        user = await self.store.get("users", user_id)
        if user is None or user.get("deleted"):
            raise AuthenticationFailed("the user no longer exists or is disabled", error="user_disabled")
        return user
