"""Getting documents ready to write: validate each one, give it an id, encode it as JSON.

This runs before any transaction opens, so a rejected document can never be half-written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cloud.store.base import Validator
from cloud.store.errors import StoreError

if TYPE_CHECKING:
    from sync.model.errors import FieldError


@dataclass(frozen=True)
class Prepared:
    """One validated document, with its id and its JSON text as stored."""

    id: str
    document: dict[str, Any]
    text: str


def default_validator() -> Validator:
    """The domain model's validator, `sync.model.validate_document`."""
    from sync.model import validate_document

    return validate_document


def prepare_documents(
    table: str,
    documents: list[Mapping[str, Any]],
    validator: Validator,
) -> list[Prepared]:
    """Validate every document of a batch and return them ready to write.

    Raises:
        DocumentInvalid: one or more documents were rejected. For a batch of more than one,
            each field is prefixed with the document's position (`"3.name"`), and every bad
            document of the batch is reported, not only the first.
        StoreError: a validated document cannot be stored (no string id, not JSON).
    """
    from sync.model.errors import DocumentInvalid
    from sync.model.ids import new_id

    prepared: list[Prepared] = []
    errors: list[FieldError] = []
    for index, document in enumerate(documents):
        data = dict(document)
        if data.get("id") is None:
            data["id"] = new_id(table)
        try:
            valid = validator(table, data)
        except DocumentInvalid as exc:
            if len(documents) == 1:
                raise
            errors.extend({"field": f"{index}.{e['field']}", "message": e["message"]} for e in exc.errors)
            continue
        valid.setdefault("id", data["id"])
        if not isinstance(valid["id"], str) or not valid["id"]:
            raise StoreError(f"the validator gave a {table} document without a string id: {valid['id']!r}")
        try:
            text = orjson.dumps(valid).decode()
        except TypeError as exc:
            raise StoreError(f"{table}/{valid['id']!r} cannot be stored as JSON: {exc}") from exc
        prepared.append(Prepared(valid["id"], valid, text))
    if errors:
        raise DocumentInvalid(table, errors)
    return prepared
