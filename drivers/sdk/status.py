"""A module's status: JSON values by key, each real change emitted once to a sink.

PlaceOS semantics (PlaceOS/driver `placeos-driver.cr#[]=`): the value is JSON-encoded and
compared with the stored encoding; an unchanged value is not re-emitted. Keys are sorted
when encoding, so a dict rebuilt in another order is not a change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

_SCALARS = (bool, int, float, str, type(None))


class StatusChange(NamedTuple):
    """One status value that changed: the decoded value and its JSON text."""

    module_id: str
    key: str
    value: Any
    json: str


StatusSink = Callable[[StatusChange], None]


class StatusStore:
    """Status values of one module (`values` holds them decoded, as JSON would give them)."""

    def __init__(
        self,
        module_id: str,
        sink: StatusSink | None,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> None:
        self.module_id = module_id
        self.values: dict[str, Any] = {}
        self._encoded: dict[str, str] = {}
        self._sink = sink
        self._log = logger

    def set(self, key: str, value: Any) -> None:
        """Store `value`; emit it if its JSON differs from what is stored.

        Raises:
            TypeError: the value is not JSON-serialisable.
        """
        try:
            encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            raise TypeError(f"status {key!r}: {value!r} is not JSON-serialisable") from None
        # Keep the text, not orjson's bytes: each bytes object it returns holds a ~4 KB
        # allocation, which across 1,000 modules of 200 keys is most of a host's memory.
        text = encoded.decode()
        if self._encoded.get(key) == text:
            return
        self._encoded[key] = text
        decoded = value if type(value) in _SCALARS else orjson.loads(encoded)
        self.values[key] = decoded
        self._emit(StatusChange(self.module_id, key, decoded, text))

    def encoded(self) -> dict[str, str]:
        """Every value held now, as the JSON text last emitted (a copy)."""
        return dict(self._encoded)

    def delete(self, key: str) -> None:
        """Remove `key` (emitted as null)."""
        if self._encoded.pop(key, None) is not None:
            self.values.pop(key, None)
            self._emit(StatusChange(self.module_id, key, None, "null"))

    def _emit(self, change: StatusChange) -> None:
        if self._sink is None:
            return
        try:
            self._sink(change)
        except Exception:
            self._log.exception("status sink raised on %r", change.key)
