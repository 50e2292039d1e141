"""The settings merge: shallow, later layers win, and Driver < zones < System < Module for logic only."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.model import (
    DriverRole,
    SettingsCipher,
    SettingsTextInvalid,
    merge_settings,
    parent_settings,
    seal_settings,
    settings_layers,
    validate_document,
)

# Few keys, so layers overlap often.
keys = st.sampled_from(["a", "b", "c", "d", "e", "f"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)
layer = st.dictionaries(keys, json_values, max_size=6)
layers = st.lists(layer, max_size=6)


@given(layers)
def test_keys_are_the_union(stack: list[dict[str, Any]]) -> None:
    assert set(merge_settings(stack)) == set().union(*[set(one) for one in stack])


@given(layers)
def test_the_last_layer_holding_a_key_wins(stack: list[dict[str, Any]]) -> None:
    merged = merge_settings(stack)
    for key, value in merged.items():
        last = next(one for one in reversed(stack) if key in one)
        assert value == last[key]


@given(layer, layer, layer)
def test_layering_is_associative(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> None:
    flat = merge_settings([a, b, c])
    assert merge_settings([merge_settings([a, b]), c]) == flat
    assert merge_settings([a, merge_settings([b, c])]) == flat


@given(layers)
def test_inputs_are_not_changed(stack: list[dict[str, Any]]) -> None:
    before = copy.deepcopy(stack)
    merge_settings(stack)
    assert stack == before


@given(layers)
def test_the_result_shares_nothing_mutable_with_the_inputs(stack: list[dict[str, Any]]) -> None:
    before = copy.deepcopy(stack)
    merged = merge_settings(stack)
    for value in merged.values():
        if isinstance(value, dict):
            value["mutated"] = True
        elif isinstance(value, list):
            value.append("mutated")
    assert stack == before


@given(st.dictionaries(keys, json_values, min_size=1), st.dictionaries(keys, json_values, min_size=1))
def test_nested_mappings_are_replaced_not_merged(low: dict[str, Any], high: dict[str, Any]) -> None:
    merged = merge_settings([{"nested": low}, {"nested": high}])
    assert merged["nested"] == high


def test_empty_stack_is_empty() -> None:
    assert merge_settings([]) == {}


def test_an_example_by_hand() -> None:
    driver = {"poll": 10, "login": {"user": "admin", "password": "x"}}
    module = {"login": {"user": "ops"}, "input": "hdmi"}
    assert merge_settings([driver, module]) == {"poll": 10, "login": {"user": "ops"}, "input": "hdmi"}


def test_logic_modules_layer_driver_zones_system_module() -> None:
    driver, zone0, zone1, system, module = (
        {"from": name} for name in ("driver", "zone0", "zone1", "system", "module")
    )
    stack = settings_layers(role="logic", driver=driver, zones=[zone0, zone1], system=system, module=module)
    assert stack == [driver, zone0, zone1, system, module]


@pytest.mark.parametrize(
    "role", [DriverRole.DEVICE, DriverRole.SSH, DriverRole.SERVICE, DriverRole.WEBSOCKET, 1]
)
def test_other_modules_see_only_driver_and_module(role: DriverRole | int) -> None:
    stack = settings_layers(role=role, driver={"d": 1}, zones=[{"z": 1}], system={"s": 1}, module={"m": 1})
    assert stack == [{"d": 1}, {"m": 1}]


@given(
    driver=layer,
    zones=st.lists(layer, max_size=4),
    system=layer,
    module=layer,
)
def test_priority_is_module_then_system_then_later_zones_then_driver(
    driver: dict[str, Any], zones: list[dict[str, Any]], system: dict[str, Any], module: dict[str, Any]
) -> None:
    merged = merge_settings(
        settings_layers(role=99, driver=driver, zones=zones, system=system, module=module)
    )
    for key, value in merged.items():
        for source in (module, system, *reversed(zones), driver):
            if key in source:
                assert value == source[key]
                break


def test_missing_layers_count_as_empty() -> None:
    assert settings_layers(role="logic") == [{}, {}, {}]
    assert merge_settings(settings_layers(role="device", module={"a": 1})) == {"a": 1}


def _settings(level: str, text: str, **extra: Any) -> dict[str, Any]:
    return validate_document(
        "settings", {"parent_id": "mod-1", "encryption_level": level, "settings_string": text, **extra}
    )


def test_a_parents_documents_merge_most_secret_last() -> None:
    documents = [
        _settings("admin", "password: admin-pw"),
        _settings("none", "password: none-pw\npoll: 10"),
        _settings("support", "password: support-pw\nuser: ops"),
    ]
    assert parent_settings(documents) == {"password": "admin-pw", "poll": 10, "user": "ops"}


def test_old_versions_are_not_part_of_the_layer() -> None:
    master = _settings("none", "poll: 10")
    version = _settings("none", "poll: 99", settings_id=master["id"])
    assert parent_settings([version, master]) == {"poll": 10}


def test_sealed_documents_need_the_cipher() -> None:
    cipher = SettingsCipher("server secret")
    sealed = [seal_settings(_settings("admin", "password: pw"), cipher), _settings("none", "poll: 1")]
    assert parent_settings(sealed, cipher=cipher) == {"password": "pw", "poll": 1}
    with pytest.raises(SettingsTextInvalid, match="no cipher"):
        parent_settings(sealed)
