"""A replica's configuration is judged per document: the bad ones and what needs them are set aside."""

from __future__ import annotations

import pytest

from edge.config.errors import SiteConfigInvalid
from edge.config.loader import build_site_config
from edge.config.site import SiteConfig
from tests.edge.site_files import site


def _rejected(config: SiteConfig) -> dict[tuple[str, str], str]:
    return {(r.table, r.id): r.reason for r in config.rejected}


def test_a_bad_driver_sets_aside_its_modules_only_and_keeps_their_place_in_the_room() -> None:
    data = site()
    data["drivers"][0]["file_name"] = "no_such_package.display:Display"  # driver-echo: both displays
    with pytest.raises(SiteConfigInvalid):
        build_site_config(data)  # a site file is judged whole
    config = build_site_config(data, isolate=True)
    rejected = _rejected(config)
    assert "no importable module 'no_such_package.display'" in rejected[("drivers", "driver-echo")]
    assert rejected[("modules", "mod-display1")] == (
        "its driver 'driver-echo' was rejected (file_name: no importable module 'no_such_package.display')"
    )
    assert ("modules", "mod-display2") in rejected
    assert set(config.modules) == {"mod-room"}  # the room's logic still runs
    # The settings of a rejected module go with it; the zone's stay.
    assert all(s["parent_id"] != "mod-display2" for s in config.settings.values())
    assert any(s["parent_id"] == "zone-building1" for s in config.settings.values())
    # Display_2 stays Display_2: a set-aside module is not renumbered away.
    assert config.resolve("sys-room1", "Display", 2) == "mod-display2"
    assert config.resolve("sys-room1", "Room", 1) == "mod-room"
    assert config.rejected_modules()["mod-display2"].startswith("its driver 'driver-echo' was rejected")


def test_bad_settings_set_aside_the_modules_they_configure() -> None:
    data = site()
    data["settings"][0] = {"id": "sets-bad", "parent_id": "mod-display2", "settings_string": "{not json"}
    config = build_site_config(data, isolate=True)
    rejected = _rejected(config)
    assert "settings_string" in rejected[("settings", "sets-bad")]
    why = rejected[("modules", "mod-display2")]
    assert why == "its settings 'sets-bad' (of 'mod-display2') were rejected"
    assert {"mod-display1", "mod-room"} <= set(config.modules)


def test_a_key_whose_user_is_bad_is_set_aside_and_the_others_still_authenticate() -> None:
    data = site()
    data["users"][0]["authority_id"] = 42  # user-panel: not a valid document
    config = build_site_config(data, isolate=True)
    rejected = _rejected(config)
    assert ("users", "user-panel") in rejected
    assert rejected[("api_keys", "key-panel0001")] == "its user 'user-panel' was rejected"
    assert "key-admin0001" in config.api_keys
    assert set(config.modules) == {"mod-display1", "mod-display2", "mod-room"}


def test_a_clean_configuration_rejects_nothing_and_file_modules_run_unless_told() -> None:
    data = site()
    data["modules"][1]["running"] = False
    config = build_site_config(data, isolate=True)
    assert config.rejected == ()
    assert config.runnable_modules() == {"mod-display1", "mod-room"}
