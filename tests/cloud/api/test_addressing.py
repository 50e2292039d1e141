"""Module slugs: `Display_2`, names with underscores, and resolving by name and index in order."""

from __future__ import annotations

import pytest

from cloud.api.addressing import ModuleAddress, index_map, parse_slug, resolve_in


@pytest.mark.parametrize(
    ("slug", "name", "index"),
    [
        ("Display", "Display", 1),
        ("Display_2", "Display", 2),
        ("Room_Booking", "Room_Booking", 1),
        ("Room_Booking_3", "Room_Booking", 3),
        ("Cam_v2", "Cam_v2", 1),
        ("_TRIGGER_", "_TRIGGER_", 1),
        ("Display_10", "Display", 10),
    ],
)
def test_parse_slug(slug: str, name: str, index: int) -> None:
    assert parse_slug(slug) == ModuleAddress(name, index)


@pytest.mark.parametrize("slug", ["", "Display_0"])
def test_bad_slugs(slug: str) -> None:
    with pytest.raises(ValueError):
        parse_slug(slug)


def test_resolve_counts_same_names_in_order() -> None:
    modules = {
        "mod-a": {"name": "Display"},
        "mod-b": {"name": "Switcher"},
        "mod-c": {"name": "Display", "custom_name": ""},
        "mod-d": {"name": "Display", "custom_name": "Projector"},
    }
    order = ["mod-a", "mod-b", "mod-c", "mod-d"]
    assert resolve_in(order, modules, ModuleAddress("Display", 2)) == "mod-c"
    assert resolve_in(order, modules, ModuleAddress("Projector", 1)) == "mod-d"
    assert resolve_in(order, modules, ModuleAddress("Display", 3)) is None
    assert index_map(order, modules) == {
        "Display/1": "mod-a",
        "Switcher/1": "mod-b",
        "Display/2": "mod-c",
        "Projector/1": "mod-d",
    }
