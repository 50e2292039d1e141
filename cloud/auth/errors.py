"""Errors auth raises; each carries the HTTP status and JSON body it becomes at the boundary.

AuthError                     anything auth refuses (base class)
+-- AuthenticationFailed      401: no credentials, or invalid, expired or revoked ones
+-- PermissionDenied          403: authenticated, but the role or scopes are too low
+-- LoginRateLimited          429: too many failed logins for this account or address
+-- OAuthError                an OAuth2 error body for /auth/oauth/* ({error, error_description})
+-- FirstAdminPasswordMissing the store has no users and no admin password was given
+-- UserExists                a user with that e-mail or login name is already stored
"""

from __future__ import annotations

from typing import Any


class AuthError(Exception):
    """Raised when auth refuses something. `status` and `body()` say how to answer over HTTP."""

    status = 400
    error = "auth_error"

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error is not None:
            self.error = error

    def body(self) -> dict[str, Any]:
        """The JSON body of the HTTP answer."""
        return {"error": self.error, "message": self.message}

    def headers(self) -> dict[str, str]:
        """Extra HTTP headers of the answer."""
        return {}


class AuthenticationFailed(AuthError):
    """Raised when credentials are missing, malformed, wrong, expired or revoked.

    Not raised when valid credentials lack the role or scope: that is PermissionDenied.
    `error` names the reason: missing_credentials, invalid_token, token_expired,
    token_revoked, invalid_api_key, api_key_expired, user_disabled.
    """

    status = 401
    error = "invalid_token"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.error}"'}


class PermissionDenied(AuthError):
    """Raised when an authenticated principal lacks the role or scope for an action."""

    status = 403
    error = "forbidden"


class LoginRateLimited(AuthError):
    """Raised when a login is refused unchecked because the account or address is locked out.

    `retry_after` is whole seconds until the next attempt is considered.
    """

    status = 429
    error = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class OAuthError(AuthError):
    """Raised by the token, authorize and revoke flows with an RFC 6749 error code.

    Codes: invalid_request, invalid_client (401), invalid_grant, unauthorized_client,
    unsupported_grant_type, invalid_scope.
    """

    def __init__(self, error: str, description: str, *, status: int | None = None) -> None:
        super().__init__(description, error=error)
        self.status = status if status is not None else (401 if error == "invalid_client" else 400)

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.message}


class FirstAdminPasswordMissing(AuthError):
    """Raised at start-up when the store has no users and no first-admin password was given."""

    error = "first_admin_password_missing"

    def __init__(self) -> None:
        super().__init__(
            "the store has no users: give the first admin's password with --admin-password "
            "or the environment variable TRANSOM_ADMIN_PASSWORD"
        )


class UserExists(AuthError):
    """Raised by create_user when the e-mail or login name is already taken."""

    status = 409
    error = "user_exists"
