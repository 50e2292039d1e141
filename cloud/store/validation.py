"""Getting documents ready to write: validate each one, give it an id, encode it as JSON.

This runs before any transaction opens, so a rejected document can never be half-written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from cloud.store.base import Validator
from cloud.store.errors import StoreError
from sync.model import ID_PREFIXES, DocumentInvalid, FieldError, new_id, validate_document

DEFAULT_VALIDATOR: Validator = validate_document


@dataclass(frozen=True)
class Prepared:
    """One validated document, with its id and its JSON text as stored."""

    id: str
    document: dict[str, Any]
    text: str


def prepare_documents(table: str, documents: list[Mapping[str, Any]], validator: Validator) -> list[Prepared]:
    """Validate every document of a batch and return them ready to write.

    A document without an id gets a new one of the table's kind (`sys-…`) before validation,
    so a custom validator sees the id that will be stored.

    Raises:
        DocumentInvalid: one or more documents were rejected. For a batch of more than one,
            each field is prefixed with the document's position (`"3.name"`), and every bad
            document of the batch is reported, not only the first.
        StoreError: a validated document cannot be stored (no string id, not JSON).
    """
    prepared: list[Prepared] = []
    errors: list[FieldError] = []
    for index, document in enumerate(documents):
        data = dict(document)
        if data.get("id") is None and table in ID_PREFIXES:  # else the validator names the table
            data["id"] = new_id(table)
        try:
            valid = validator(table, data)
        except DocumentInvalid as exc:
            if len(documents) == 1:
                raise
            errors.extend({"field": f"{index}.{e['field']}", "message": e["message"]} for e in exc.errors)
            continue
        valid.setdefault("id", data.get("id"))
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
