"""The PostgreSQL engine's SQL: its schema, and a store Query turned into jsonb SQL.

Documents live as `jsonb` in `documents.doc`; the id is also a column. Values are always
bound parameters. Field paths are written into the SQL as literal text-array paths
(`doc #> '{settings,timezone}'`): base.Filter and base.Order accept only dotted identifiers,
which need no quoting and cannot inject.

The semantics are SQLite's (sqlite_query.py), so both engines list the same pages:

- A filter matches only values of its own JSON type: jsonb equality already holds `true`
  apart from 1 and "10" apart from 10, while 1 equals 1.0. `None` matches null or missing.
- `contains` looks inside a list (or an object's values, or the scalar itself, as SQLite's
  json_each does); a missing field contains nothing.
- Ordering follows SQLite's order of json_extract values: null/missing first, then numbers
  and booleans (as 0/1) by value, then strings (and lists/objects by their text) bytewise
  (COLLATE "C"); ties fall back to the id. `name` is ordered as text along the
  `documents_by_name` index, so a list page is an index walk, not a sort of the table
  (every table of the domain model has a string name).
"""

from __future__ import annotations

import json
from typing import Any

from cloud.store.base import Filter, Order, Query

# Only the statements; setup runs them in one transaction under an advisory lock, so two
# stores opening a fresh database at once cannot race on CREATE TABLE.
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS documents (
        tbl text NOT NULL,
        id text NOT NULL,
        doc jsonb NOT NULL,
        revision bigint NOT NULL,
        PRIMARY KEY (tbl, id)
    )""",
    # Lists are ordered by name (then id): see the module docstring.
    """CREATE INDEX IF NOT EXISTS documents_by_name
        ON documents (tbl, (doc ->> 'name') COLLATE "C" NULLS FIRST, id)""",
    """CREATE TABLE IF NOT EXISTS changes (
        revision bigint PRIMARY KEY,
        tbl text NOT NULL,
        id text NOT NULL,
        op text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
        doc jsonb
    )""",
    # One row: the newest revision. Writers update it first, which serialises them.
    """CREATE TABLE IF NOT EXISTS head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        revision bigint NOT NULL
    )""",
    "INSERT INTO head (one, revision) VALUES (true, 0) ON CONFLICT DO NOTHING",
)
# Any constant will do; it only keeps two processes' schema setup apart.
SCHEMA_LOCK = 0x7472616E736F6D  # "transom"
# The NOTIFY channel: its payload is the new head revision, a wake-up only.
CHANNEL = "transom_store_changes"

INSERT_DOCUMENTS = (
    "INSERT INTO documents (tbl, id, doc, revision)"
    " SELECT %s, u.id, u.doc::jsonb, u.revision"
    " FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS u(id, doc, revision)"
    " ON CONFLICT (tbl, id) DO UPDATE SET doc = excluded.doc, revision = excluded.revision"
)
INSERT_CHANGES = (
    "INSERT INTO changes (revision, tbl, id, op, doc)"
    " SELECT u.revision, %s, u.id, u.op, u.doc::jsonb"
    " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS u(revision, id, op, doc)"
)


def _path(field: str) -> str:
    return "'{" + ",".join(field.split(".")) + "}'"


def _match(value_expr: str, value: Any, params: list[Any]) -> str:
    """SQL that is true when the jsonb value of `value_expr` is `value`, of the same JSON type."""
    if value is None:
        return f"coalesce(jsonb_typeof({value_expr}), 'null') = 'null'"
    params.append(json.dumps(value))
    return f"{value_expr} = %s::jsonb"


def condition(flt: Filter, params: list[Any], column: str = "doc") -> str:
    """SQL for one filter on the jsonb `column` (the search engine filters its facets with it)."""
    if flt.field == "id" and flt.op != "contains" and column == "doc":
        values = flt.value if flt.op == "in" else (flt.value,)
        ids = [v for v in values if isinstance(v, str)]
        if not ids:
            return "false"
        params.append(ids)
        return "id = ANY(%s::text[])"
    if flt.op == "contains":
        test = _match("je.value", flt.value, params)
        return (
            f"EXISTS (SELECT 1 FROM (SELECT {column} #> {_path(flt.field)} AS x) AS f,"
            " jsonb_array_elements(CASE WHEN f.x IS NULL THEN '[]'::jsonb"
            " WHEN jsonb_typeof(f.x) = 'array' THEN f.x"
            " WHEN jsonb_typeof(f.x) = 'object' THEN jsonb_path_query_array(f.x, '$.*')"
            f" ELSE jsonb_build_array(f.x) END) AS je(value) WHERE {test})"
        )
    values = flt.value if flt.op == "in" else (flt.value,)
    if not values:
        return "false"
    value_expr = f"({column} #> {_path(flt.field)})"
    return "(" + " OR ".join(_match(value_expr, v, params) for v in values) + ")"


def where_clause(table: str, filters: tuple[Filter, ...] | list[Filter], params: list[Any]) -> str:
    """The WHERE clause (without the keyword) for a table and its filters; appends to `params`."""
    params.append(table)
    return " AND ".join(["tbl = %s"] + [condition(f, params) for f in filters])


def _order_terms(order: Order) -> list[str]:
    way = " DESC" if order.desc else ""
    if order.field == "id":
        return ["id" + way]
    if order.field == "name":
        return [f"(doc ->> 'name') COLLATE \"C\"{' DESC NULLS LAST' if order.desc else ' NULLS FIRST'}"]
    v = f"(doc #> {_path(order.field)})"
    kind = f"jsonb_typeof({v})"
    return [
        f"CASE {kind} WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN 2"
        f" WHEN 'array' THEN 2 WHEN 'object' THEN 2 ELSE 0 END{way}",
        f"CASE {kind} WHEN 'number' THEN {v}::numeric"
        f" WHEN 'boolean' THEN CASE WHEN {v}::boolean THEN 1 ELSE 0 END END{way}",
        f"(CASE {kind} WHEN 'string' THEN {v} #>> '{{}}' WHEN 'array' THEN {v}::text"
        f" WHEN 'object' THEN {v}::text END) COLLATE \"C\"{way}",
    ]


def order_clause(orders: tuple[Order, ...]) -> str:
    """The ORDER BY clause (without the keywords); ties always fall back to the id, ascending."""
    terms = [term for order in orders for term in _order_terms(order)]
    if not any(o.field == "id" for o in orders):
        terms.append("id")
    return ", ".join(terms)


def select_page(table: str, query: Query) -> tuple[str, list[Any], str, list[Any]]:
    """SQL and parameters for one page of `query`, and for counting every match."""
    where_params: list[Any] = []
    where = where_clause(table, list(query.filters), where_params)
    order = order_clause(query.orders)
    page_sql = f"SELECT doc FROM documents WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s"
    page_params = [*where_params, query.limit, query.offset]
    count_sql = f"SELECT count(*) FROM documents WHERE {where}"
    return page_sql, page_params, count_sql, where_params
