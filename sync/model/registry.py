"""The tables: which model validates each, and `validate_document`, the one entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .api_key import ApiKey
from .authority import Authority
from .document import Document
from .driver import Driver
from .edge import Edge
from .errors import DocumentInvalid, FieldError
from .ids import ID_PREFIXES
from .json_schema import JsonSchema
from .metadata import Metadata
from .module import Module
from .revocation import Revocation
from .rules import RULES_ERROR_TYPE
from .settings import Settings
from .system import System
from .trigger import CONSTANT_TAG, STATUS_REF_TAG, Trigger
from .trigger_instance import TriggerInstance
from .user import User
from .zone import Zone

TABLES: dict[str, type[Document]] = {
    model.table: model
    for model in (
        Authority,
        Zone,
        System,
        Driver,
        Module,
        Settings,
        Trigger,
        TriggerInstance,
        User,
        ApiKey,
        Edge,
        Metadata,
        JsonSchema,
        Revocation,
    )
}
assert TABLES.keys() == ID_PREFIXES.keys(), "every table needs an id prefix"

# Parts of pydantic's error paths that are not fields (union tags).
_NOT_FIELDS = frozenset({STATUS_REF_TAG, CONSTANT_TAG})


def validate_document(table: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise one document of `table`.

    Fills defaults and a missing `id`, `created_at` or `updated_at` (a given id
    is kept if it has the table's prefix), applies the role rules of modules,
    and derives fields (a module's `tls` from its URI, settings' `keys`).
    Pure: `data` is not changed and nothing is stored.

    Args:
        table: a key of `TABLES`, e.g. "systems".
        data: the document as JSON-like values.

    Raises:
        DocumentInvalid: unknown table, not a mapping, or broken rules; its
            `errors` name every bad field by dotted path.

    Returns:
        A new JSON-serialisable dict holding every field of the model.
    """
    model = TABLES.get(table)
    if model is None:
        known = ", ".join(sorted(TABLES))
        raise DocumentInvalid(
            table, [{"field": "table", "message": f"unknown table {table!r}; known: {known}"}]
        )
    if not isinstance(data, Mapping):
        raise DocumentInvalid(
            table, [{"field": "document", "message": f"must be a JSON object, not {type(data).__name__}"}]
        )
    try:
        document = model.model_validate(dict(data))
    except ValidationError as exc:
        raise DocumentInvalid(table, field_errors(exc)) from None
    return document.model_dump(mode="json")


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn pydantic's errors into `FieldError`s with dotted paths and plain messages."""
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False):
        path = [str(part) for part in error["loc"] if part not in _NOT_FIELDS]
        if error["type"] == RULES_ERROR_TYPE:
            for found in error.get("ctx", {}).get("errors", []):
                errors.append({"field": ".".join([*path, found["field"]]), "message": found["message"]})
            continue
        field = ".".join(path) or "document"
        errors.append({"field": field, "message": _message(error["type"], error["msg"])})
    return errors


def _message(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    # Our own validators' ValueErrors arrive as "Value error, <ours>".
    return message.removeprefix("Value error, ")
