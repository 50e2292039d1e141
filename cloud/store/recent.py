"""The newest committed changes, kept in memory so in-process subscribers get them without a read.

A changefeed subscriber that is close to the head takes changes from here: no thread and no
SQL. Documents are kept as JSON text, parsed by each subscriber as it yields them: each gets
its own copy, and thousands of parsed documents held here would make every full garbage
collection of the process tens of milliseconds slower (strings are not tracked; dicts and
lists are). The window always holds
*consecutive* revisions; when a write arrives that does not follow the newest one (another
process wrote in between), the window starts again from it, and a subscriber whose cursor
falls outside the window reads the changes table instead. So memory is only a shortcut:
order, completeness and resume come from the table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

import orjson

from cloud.store.base import Change

Row = tuple[int, str, str, str, str | None]
"""A committed change as stored: revision, table, id, op and the document's JSON text."""


def to_change(row: Row) -> Change:
    revision, table, id, op, text = row
    return Change(revision, table, id, op, None if text is None else orjson.loads(text))  # type: ignore[arg-type]


class RecentChanges:
    """A window of the newest consecutive changes, at most `size` of them."""

    def __init__(self, size: int) -> None:
        self._window: deque[Row] = deque(maxlen=size)

    def add(self, rows: Iterable[Row]) -> None:
        """Append committed changes, in revision order, as the writer saw them commit."""
        for row in rows:
            if self._window and self._window[-1][0] + 1 != row[0]:
                self._window.clear()
            self._window.append(row)

    def after(self, cursor: int, limit: int) -> list[Row] | None:
        """Up to `limit` changes after revision `cursor`.

        Returns None when the window cannot tell (it is empty, or `cursor` is outside it):
        the caller must read the table. Returns [] when `cursor` is the newest revision here.
        """
        if not self._window:
            return None
        first, last = self._window[0][0], self._window[-1][0]
        if not first - 1 <= cursor <= last:
            return None
        start = cursor + 1 - first
        return list(islice(self._window, start, start + limit))

    def clear(self) -> None:
        self._window.clear()
