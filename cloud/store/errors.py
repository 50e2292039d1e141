"""Errors the config store raises, whatever engine is behind it.

    StoreError                  anything the store cannot do (base class)
    +-- StoreClosedError        the store was closed by its owner; it is not usable any more
    +-- NotFoundError           a write named a document that does not exist
    +-- ConflictError           optimistic concurrency: the document changed since it was read
    +-- QueryInvalid            a query names a bad field, filter or order (also a ValueError)
    +-- EngineUnavailable       the URL names an engine this build cannot open

Invalid documents are rejected with `sync.model.DocumentInvalid` (a ValueError whose `.errors`
name each bad field), raised unchanged by the store's validator.
"""

from __future__ import annotations


class StoreError(Exception):
    """Raised when the store cannot do what was asked. Not raised for invalid documents."""


class StoreClosedError(StoreError):
    """Raised when the store is used after `aclose()`. Not raised when the database breaks."""


class NotFoundError(StoreError, LookupError):
    """Raised when a write needs an existing document (an expected revision) and there is none.

    Reads never raise it: `get` returns None for a missing document.
    """

    def __init__(self, table: str, id: str) -> None:
        super().__init__(f"{table}/{id!r} does not exist")
        self.table = table
        self.id = id


class ConflictError(StoreError):
    """Raised when `expected_revision` does not match the document's current revision.

    `actual` is the revision the document has now (0 if it does not exist).
    """

    def __init__(self, table: str, id: str, *, expected: int, actual: int) -> None:
        super().__init__(f"{table}/{id!r} is at revision {actual}, not the expected revision {expected}")
        self.table = table
        self.id = id
        self.expected = expected
        self.actual = actual


class QueryInvalid(StoreError, ValueError):
    """Raised when a query names a malformed field or gives a filter value of the wrong kind.

    `field` names the offending field, as DocumentInvalid does for documents.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EngineUnavailable(StoreError):
    """Raised by `open_store` for a URL whose engine is reserved but not implemented yet."""
