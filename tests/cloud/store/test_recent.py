"""The in-memory window of newest changes: consecutive revisions only, and honest about misses."""

from __future__ import annotations

from cloud.store.recent import RecentChanges, Row, to_change


def rows(*revisions: int) -> list[Row]:
    return [(r, "zones", f"zone-{r}", "insert", '{"name": "z"}') for r in revisions]


def test_after_serves_a_cursor_inside_the_window() -> None:
    recent = RecentChanges(5)
    recent.add(rows(1, 2, 3))
    assert recent.after(0, 10) == rows(1, 2, 3)
    assert recent.after(1, 1) == rows(2)
    assert recent.after(3, 10) == []


def test_after_says_none_outside_the_window() -> None:
    recent = RecentChanges(3)
    assert recent.after(0, 10) is None
    recent.add(rows(1, 2, 3, 4, 5))
    assert recent.after(1, 10) is None  # revisions 2 was dropped: read the table
    assert recent.after(2, 10) == rows(3, 4, 5)
    assert recent.after(6, 10) is None  # beyond: another process wrote it


def test_a_gap_restarts_the_window() -> None:
    recent = RecentChanges(10)
    recent.add(rows(1, 2))
    recent.add(rows(5, 6))
    assert recent.after(2, 10) is None
    assert recent.after(4, 10) == rows(5, 6)


def test_to_change_parses_the_document() -> None:
    change = to_change((7, "zones", "zone-7", "update", '{"name": "z", "tags": ["a"]}'))
    assert (change.revision, change.op, change.document) == (7, "update", {"name": "z", "tags": ["a"]})
    assert to_change((8, "zones", "zone-7", "delete", None)).document is None
