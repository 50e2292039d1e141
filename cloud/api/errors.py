"""Errors the API answers with, each carrying its HTTP status and JSON body.

    ApiError                  anything the API refuses (base class; status 400)
    +-- BadRequest            400: malformed JSON, a bad query parameter
    +-- Forbidden             403: the caller's role or scopes are too low
    +-- NotFound              404: no such document, module or route
    +-- Conflict              409: a stale version, a duplicate id
    +-- UnsupportedMediaType  415: a body that is not JSON by its Content-Type
    +-- Unprocessable         422: a document broke a rule (names each field)

Errors from the store (`cloud.store.errors`), the domain model (`DocumentInvalid`), auth
(`AuthError`) and module routing (`cloud.api.module_seams`) are translated by the handlers in
`cloud.api.handlers`; routes raise these for everything else.
"""

from __future__ import annotations

from typing import Any

from sync.model import FieldError


class ApiError(Exception):
    """Raised by a route to answer with an error; never a traceback reaches the caller."""

    status = 400
    error = "bad_request"

    def __init__(self, message: str, *, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides its body (none unless a subclass needs some)."""
        return {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.fields is not None:
            body["fields"] = self.fields
        return body


class BadRequest(ApiError):
    """Raised for a request the API cannot read: bad JSON, a bad query parameter."""


class Forbidden(ApiError):
    """Raised when an authenticated caller lacks the role or scope for an action."""

    status = 403
    error = "forbidden"


class NotFound(ApiError):
    """Raised when a document, module or function named by the request does not exist."""

    status = 404
    error = "not_found"


class Conflict(ApiError):
    """Raised when a write is based on a stale version or would duplicate a document."""

    status = 409
    error = "conflict"


class UnsupportedMediaType(ApiError):
    """A request body whose Content-Type is not JSON (a cross-site form cannot send JSON)."""

    status = 415
    error = "unsupported_media_type"


class Unprocessable(ApiError):
    """Raised when a document breaks a rule that needs stored data (a missing reference)."""

    status = 422
    error = "invalid"


def field_error(field: str, message: str) -> FieldError:
    """One `{field, message}` entry."""
    return {"field": field, "message": message}
