"""What each store table puts in the search index: its text columns, filterable facets, sort name.

Every engine indexes the same five text columns, so one query means the same everywhere:

    name         names a person types first (name, display_name, custom_name, ...)
    description  free text (description, notes)
    tags         sets of words (a zone's tags, a system's features)
    email        addresses (searched as whole addresses, see query.py)
    other        codes, hosts, file names and the like

Nothing secret is ever indexed: the index is readable by whoever can search, and the API
does not redact search results field by field. SECRET_FIELDS names what must never appear;
a test (and the assertion below) keeps the tables honest. Settings are indexed by their
`keys` only (which redaction shows to everyone), never by `settings_string`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Column = Literal["name", "description", "tags", "email", "other"]

COLUMNS: tuple[Column, ...] = ("name", "description", "tags", "email", "other")

# BM25 weight of each column, in COLUMNS order: a hit in a name counts most.
WEIGHTS: tuple[float, ...] = (8.0, 1.0, 3.0, 4.0, 2.0)

# Fields that hold secrets or key material, in any table. Never indexed, never a facet.
SECRET_FIELDS = frozenset(
    {"settings_string", "password_digest", "secret", "webhook_secret", "card_number", "internals"}
)


@dataclass(frozen=True)
class TableFields:
    """How one table is indexed.

    text: which document fields feed each text column.
    facets: fields kept (as JSON) so searches can filter on them with store Filters.
    sort: fields whose first non-empty value is the document's sort name.
    """

    text: Mapping[Column, tuple[str, ...]]
    facets: tuple[str, ...] = ()
    sort: tuple[str, ...] = ("name",)
    all_fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        fields = {f for names in self.text.values() for f in names} | set(self.facets)
        object.__setattr__(self, "all_fields", frozenset(fields))


TABLE_FIELDS: dict[str, TableFields] = {
    "authorities": TableFields(
        {"name": ("name",), "description": ("description",), "other": ("domain", "email_domains")},
    ),
    "zones": TableFields(
        {
            "name": ("name", "display_name"),
            "description": ("description",),
            "tags": ("tags",),
            "other": ("code", "type", "location"),
        },
        facets=("tags", "parent_id", "type", "triggers"),
    ),
    "systems": TableFields(
        {
            "name": ("name", "display_name"),
            "description": ("description",),
            "tags": ("features",),
            "email": ("email",),
            "other": ("code", "type"),
        },
        facets=("zones", "modules", "features", "bookable", "public", "type"),
    ),
    "drivers": TableFields(
        {"name": ("name", "module_name"), "description": ("description",), "other": ("file_name",)},
        facets=("role", "module_name"),
    ),
    "modules": TableFields(
        {"name": ("name", "custom_name"), "description": ("notes",), "other": ("ip", "uri")},
        facets=("driver_id", "control_system_id", "edge_id", "role", "running", "connected"),
        sort=("custom_name", "name"),
    ),
    "settings": TableFields(
        {"other": ("keys",)},
        facets=("parent_id", "parent_type", "encryption_level"),
        sort=(),
    ),
    "triggers": TableFields(
        {"name": ("name",), "description": ("description",)},
        facets=("control_system_id", "important"),
    ),
    "trigger_instances": TableFields(
        {},
        facets=("trigger_id", "control_system_id", "zone_id", "enabled", "triggered"),
        sort=(),
    ),
    "users": TableFields(
        {
            "name": ("name", "nickname", "first_name", "last_name"),
            "email": ("email",),
            "other": ("login_name", "staff_id", "department", "building"),
        },
        facets=("authority_id", "deleted", "sys_admin", "support", "groups"),
        sort=("name", "email"),
    ),
    "api_keys": TableFields(
        {"name": ("name",), "description": ("description",)},
        facets=("user_id", "authority_id"),
    ),
    "edges": TableFields(
        {"name": ("name",), "description": ("description",)},
        facets=("online", "user_id"),
    ),
    "metadata": TableFields(
        {"name": ("name",), "description": ("description",)},
        facets=("parent_id", "schema_id"),
    ),
    "json_schemas": TableFields({"name": ("name",), "description": ("description",)}),
    # Revoked token ids: nothing to search by text, filterable by whose they were.
    "revocations": TableFields({}, facets=("user_id", "expires_at"), sort=("jti",)),
}

assert not any(t.all_fields & SECRET_FIELDS for t in TABLE_FIELDS.values()), "a secret is indexed"

# A table the store holds but TABLE_FIELDS does not name is indexed by name and id only.
DEFAULT_FIELDS = TableFields({"name": ("name",), "description": ("description",)})


def table_fields(table: str) -> TableFields:
    """How `table` is indexed (DEFAULT_FIELDS for a table this module does not know)."""
    return TABLE_FIELDS.get(table, DEFAULT_FIELDS)


def _words(value: Any) -> list[str]:
    """The text of one field value: strings as they are, lists flattened, numbers as digits."""
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, int | float):
        return [str(value)]
    if isinstance(value, list | tuple | set | frozenset):
        return [word for item in value for word in _words(item)]
    return []  # objects (JSON mappings) are not text


def extract_text(table: str, document: Mapping[str, Any]) -> dict[Column, str]:
    """The text of each column for one document (empty strings for unused columns)."""
    spec = table_fields(table)
    return {
        column: " ".join(w for name in spec.text.get(column, ()) for w in _words(document.get(name)))
        for column in COLUMNS
    }


def extract_facets(table: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """The filterable fields of one document, as stored JSON values (missing ones left out)."""
    return {name: document[name] for name in table_fields(table).facets if name in document}


def sort_name(table: str, document: Mapping[str, Any]) -> str:
    """The case-folded name results are ordered by ("" when the table has none)."""
    for name in table_fields(table).sort:
        value = document.get(name)
        if isinstance(value, str) and value:
            return value.casefold()
    return ""
