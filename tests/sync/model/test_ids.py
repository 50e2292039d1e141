"""Ids sort by creation and never repeat, even in one millisecond or after the clock steps back."""

from __future__ import annotations

import re
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.model import ID_PREFIXES, TABLES, new_id
from sync.model import ids as ids_module
from sync.model.ids import CROCKFORD_ALPHABET, ID_LENGTH, encode_crockford, id_created_ms


@pytest.mark.parametrize("table", sorted(ID_PREFIXES))
def test_id_is_prefix_dash_ten_crockford_characters(table: str) -> None:
    made = new_id(table)
    prefix, suffix = made.split("-")
    assert prefix == ID_PREFIXES[table]
    assert re.fullmatch(f"[{CROCKFORD_ALPHABET}]{{{ID_LENGTH}}}", suffix)


def test_the_prefixes_are_the_contract() -> None:
    assert ID_PREFIXES == {
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
    assert set(TABLES) == set(ID_PREFIXES)


def test_unknown_table_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="bananas"):
        new_id("bananas")


def test_tight_loop_is_strictly_increasing_and_unique() -> None:
    made = [new_id("systems") for _ in range(50_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_of_different_tables_share_one_order() -> None:
    first = new_id("zones").split("-")[1]
    second = new_id("systems").split("-")[1]
    assert first < second


def test_threads_never_collide() -> None:
    results: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(new_id("modules") for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [made for into in results for made in into]
    assert len(set(every)) == len(every)
    for into in results:
        assert into == sorted(into)


def test_still_increasing_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    before = new_id("systems")
    now_ns = time.time_ns()
    monkeypatch.setattr(ids_module.time, "time_ns", lambda: now_ns - 3_600_000_000_000)  # an hour back
    after = [new_id("systems") for _ in range(1_000)]
    assert [before, *after] == sorted([before, *after])
    assert len(set(after)) == len(after)


def test_id_carries_its_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id("edges")
    # A burst may run a little ahead of the clock, never behind it.
    assert before <= id_created_ms(made) <= time.time_ns() // 1_000_000 + 1_000


@given(st.integers(0, 32**ID_LENGTH - 1), st.integers(0, 32**ID_LENGTH - 1))
def test_encoding_preserves_order(a: int, b: int) -> None:
    encoded_a, encoded_b = encode_crockford(a), encode_crockford(b)
    assert len(encoded_a) == len(encoded_b) == ID_LENGTH
    assert (a < b) == (encoded_a < encoded_b)
    assert (a == b) == (encoded_a == encoded_b)


@given(st.integers(min_value=32**ID_LENGTH))
def test_encoding_refuses_numbers_that_do_not_fit(value: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode_crockford(value)
