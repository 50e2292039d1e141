"""Sortable document ids: a table prefix, a dash, then 10 time-ordered characters.

The 10 characters are Crockford base32 of a 50-bit number: 41 bits of
milliseconds since 2020-01-01 (enough until 2089) over 9 random bits. Fixed
width and an alphabet in ASCII order make string order equal creation order.
Within one process the number strictly increases: an id made in the same
millisecond as the last one (or after the clock stepped back) is the last
one plus one, so a burst borrows from the future instead of colliding.
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
import time

# Crockford's alphabet: no I, L, O, U, so ids survive being read aloud or retyped.
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 10
_RANDOM_BITS = 9
_TOTAL_BITS = ID_LENGTH * 5
_MAX_VALUE = (1 << _TOTAL_BITS) - 1
# Unix ms of 2020-01-01T00:00:00Z: a recent epoch buys decades of headroom in 41 bits.
_EPOCH_MS = 1_577_836_800_000

ID_PREFIXES: dict[str, str] = {
    "authorities": "authority",
    "zones": "zone",
    "systems": "sys",
    "drivers": "driver",
    "modules": "mod",
    "settings": "sets",
    "triggers": "trigger",
    "trigger_instances": "trig",
    "users": "user",
    "api_keys": "key",
    "edges": "edge",
    "metadata": "meta",
    "json_schemas": "schema",
    "revocations": "revoked",
}

# What an id of ours or an imported PlaceOS id may hold after its prefix
# (PlaceOS uses base-65 with `-`, `_`, `~`, and edge modules end in `-edge`).
_SUFFIX = r"[0-9A-Za-z_~-]{1,64}"


class _Monotonic:
    """The last number handed out, shared by all tables of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -1

    def next(self) -> int:
        candidate = ((time.time_ns() // 1_000_000 - _EPOCH_MS) << _RANDOM_BITS) | secrets.randbits(
            _RANDOM_BITS
        )
        with self._lock:
            value = max(candidate, self._last + 1)
            if value > _MAX_VALUE:
                raise OverflowError("id space exhausted (the clock is past 2089)")
            self._last = value
            return value


_counter = _Monotonic()


def encode_crockford(value: int, width: int = ID_LENGTH) -> str:
    """Return `value` as exactly `width` Crockford base32 characters, most significant first."""
    if value < 0 or value >= 32**width:
        raise ValueError(f"{value!r} does not fit in {width} base32 characters")
    chars = []
    for _ in range(width):
        chars.append(CROCKFORD_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(table: str) -> str:
    """Make a new id for a document of `table`.

    Args:
        table: a table name of `ID_PREFIXES`, e.g. "systems".

    Raises:
        KeyError: the table is unknown.

    Returns:
        e.g. `sys-01HV3K8Z2Q`: later calls in this process sort after earlier ones.
    """
    try:
        prefix = ID_PREFIXES[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known: {sorted(ID_PREFIXES)}") from None
    return f"{prefix}-{encode_crockford(_counter.next())}"


@functools.cache
def id_pattern(table: str) -> re.Pattern[str]:
    """The pattern a stored id of `table` must match (ours or one imported from PlaceOS)."""
    return re.compile(rf"{re.escape(ID_PREFIXES[table])}-{_SUFFIX}")


def id_created_ms(document_id: str) -> int:
    """The unix time in ms encoded in one of our ids (approximate for burst ids).

    Raises:
        ValueError: the id was not made by `new_id`.
    """
    _, _, suffix = document_id.rpartition("-")
    if len(suffix) != ID_LENGTH or any(c not in CROCKFORD_ALPHABET for c in suffix):
        raise ValueError(f"{document_id!r} is not a Transom id")
    value = 0
    for char in suffix:
        value = value * 32 + CROCKFORD_ALPHABET.index(char)
    return (value >> _RANDOM_BITS) + _EPOCH_MS
