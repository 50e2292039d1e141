"""Lists ordered by name walk an index of a name column: kept by every write, migrated into older files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from cloud.store.base import Query
from cloud.store.sqlite import SQLiteStore

# The documents table as files made before the name column had it.
OLD_SCHEMA = """
CREATE TABLE documents (
    tbl TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, revision INTEGER NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;
CREATE INDEX documents_by_name ON documents (tbl, json_extract(doc, '$.name'), id);
CREATE TABLE changes (
    revision INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')), doc TEXT
);
"""


def _names(page: list[dict[str, object]]) -> list[object]:
    return [doc["name"] for doc in page]


async def test_an_older_file_gets_the_column_filled_and_lists_in_name_order(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    names = [f"Room {n:03d}" for n in (5, 1, 9, 3, 7, 2, 8, 4, 6, 0)]
    for revision, name in enumerate(names, start=1):
        doc = {"id": f"sys-{revision:03d}", "name": name}
        conn.execute(
            "INSERT INTO documents VALUES ('systems', ?, ?, ?)",
            (doc["id"], orjson.dumps(doc).decode(), revision),
        )
        conn.execute(
            "INSERT INTO changes VALUES (?, 'systems', ?, 'insert', ?)",
            (revision, doc["id"], orjson.dumps(doc).decode()),
        )
    conn.commit()
    conn.close()

    async with await SQLiteStore.open(path) as store:
        page = await store.query("systems", Query(order_by=("name",), limit=3, offset=4))
        assert _names(page.items) == sorted(names)[4:7] and page.total == len(names)
        whole = await store.query("systems", Query(order_by=("name",)))
        assert _names(whole.items) == sorted(names)

    conn = sqlite3.connect(path)
    try:
        assert "name_key" in {row[1] for row in conn.execute("PRAGMA table_info(documents)")}
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(documents)")}
        assert "documents_by_name_key" in indexes and "documents_by_name" not in indexes
        plan = " ".join(
            str(row)
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM documents WHERE tbl = 'systems'"
                " ORDER BY name_key, id LIMIT 3 OFFSET 4"
            )
        )
        assert "COVERING INDEX documents_by_name_key" in plan, plan
    finally:
        conn.close()


async def test_renaming_a_document_moves_it_in_the_list(tmp_path: Path) -> None:
    async with await SQLiteStore.open(tmp_path / "s.db") as store:
        changes = await store.put_many("systems", [{"name": name} for name in ("b", "c", "d")])
        await store.put("systems", {"id": changes[2].id, "name": "a"})
        await store.put("systems", {"id": changes[0].id, "name": "e"})
        page = await store.query("systems", Query(order_by=("name",)))
        assert _names(page.items) == ["a", "c", "e"]
        tail = await store.query("systems", Query(order_by=("name",), limit=5, offset=1))
        assert _names(tail.items) == ["c", "e"] and tail.total == 3
