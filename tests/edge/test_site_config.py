"""Site config files: every document validated, errors naming file, document and field; derived configs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import trio
import yaml

from edge.config.errors import SiteConfigInvalid
from edge.config.loader import load_site_config
from edge.config.site import SiteConfig
from edge.config.source import FileConfigSource
from tests.edge.site_files import site, write_site


def test_valid_site_builds_module_configs(tmp_path: Path) -> None:
    config = load_site_config(write_site(tmp_path, site(4321)))
    display = config.module_config("mod-display1")
    assert display.driver == "tests.edge.sample_drivers:EchoDevice"
    assert (display.ip, display.port, display.name) == ("127.0.0.1", 4321, "Display")
    # Driver < Module for device modules; zones apply to logic modules only.
    assert display.settings == {"greeting": "from the driver"}
    assert config.module_config("mod-display2").settings == {"greeting": "from module 2"}
    room = config.module_config("mod-room")
    assert room.system_id == "sys-room1"
    assert room.settings == {"building": "one"}
    assert config.system_lookup("sys-room1") == {
        "Display/1": "mod-display1",
        "Display/2": "mod-display2",
        "Room/1": "mod-room",
    }


def test_custom_name_overrides_name_in_lookups(tmp_path: Path) -> None:
    data = site()
    data["modules"][1]["custom_name"] = "Projector"
    config = load_site_config(write_site(tmp_path, data))
    lookup = config.system_lookup("sys-room1")
    assert lookup["Projector/1"] == "mod-display2"
    assert "Display/2" not in lookup
    assert config.resolve("sys-room1", "Projector", 1) == "mod-display2"


def test_yaml_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site()))
    assert set(load_site_config(path).modules) == {"mod-display1", "mod-display2", "mod-room"}


def test_bad_field_names_file_document_and_field(tmp_path: Path) -> None:
    data = site()
    data["modules"][0]["port"] = 0
    data["systems"][0]["modules"].append("mod-nowhere")
    with pytest.raises(SiteConfigInvalid) as caught:
        load_site_config(write_site(tmp_path, data, "rooms.json"))
    text = str(caught.value)
    assert "rooms.json: modules[0] (mod-display1): port: is required for device modules" in text
    assert "rooms.json: systems (sys-room1): modules.3: no module 'mod-nowhere'" in text
    assert len(caught.value.problems) == 2


def test_every_kind_of_problem_is_reported(tmp_path: Path) -> None:
    data = site()
    data["drivers"][0]["file_name"] = "no_such_package.nowhere:Driver"
    data["modules"][2]["driver_id"] = "driver-missing"
    data["settings"][0]["settings_string"] = "{not: [valid"
    data["settings"][0].pop("settings")
    data["api_keys"][0]["secret"] = "plain-text-key"
    data["users"][0]["email"] = "not-an-email"
    data["colour"] = "blue"
    data["auth"] = {"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "!!"}]}}
    with pytest.raises(SiteConfigInvalid) as caught:
        load_site_config(write_site(tmp_path, data))
    fields = {(p.where.split(": ", 1)[-1].split(" ")[0], p.field) for p in caught.value.problems}
    assert ("drivers[0]", "file_name") in fields
    assert ("modules[2]", "driver_id") in fields
    assert ("settings[0]", "settings_string") in fields
    assert ("api_keys[0]", "secret") in fields
    assert ("users[0]", "email") in fields
    assert ("site.json", "colour") in fields
    assert ("auth", "jwks.keys.0") in fields


def test_unparseable_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("drivers: [unclosed")
    with pytest.raises(SiteConfigInvalid, match=r"broken.yaml: document: cannot parse"):
        load_site_config(broken)
    with pytest.raises(SiteConfigInvalid, match=r"absent.json: file: cannot read"):
        load_site_config(tmp_path / "absent.json")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(SiteConfigInvalid, match="must be a mapping of sections"):
        load_site_config(listed)


def test_repeated_ids_are_refused(tmp_path: Path) -> None:
    data = site()
    data["modules"].append(copy.deepcopy(data["modules"][0]))
    with pytest.raises(
        SiteConfigInvalid, match=r"modules\[3\] \(mod-display1\): id: 'mod-display1' is repeated"
    ):
        load_site_config(write_site(tmp_path, data))


async def test_file_source_follows_edits_and_keeps_running_config_on_bad_edit(tmp_path: Path) -> None:
    path = write_site(tmp_path, site())
    source = FileConfigSource(path, poll_seconds=0.05)
    first = await source.snapshot()
    assert "mod-room" in first.modules
    seen: list[SiteConfig] = []
    arrived = trio.Event()

    async def follow() -> None:
        async for config in source.changes():
            seen.append(config)
            arrived.set()

    data = site()
    data["modules"] = data["modules"][:2]
    data["systems"][0]["modules"] = data["systems"][0]["modules"][:2]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow)
        bad = copy.deepcopy(data)
        bad["modules"][0]["port"] = "eighty"
        write_site(tmp_path, bad)
        await trio.sleep(0.3)
        assert seen == [], "an invalid edit must not be published"
        write_site(tmp_path, data)
        with trio.fail_after(5):
            await arrived.wait()
        nursery.cancel_scope.cancel()
    assert set(seen[0].modules) == {"mod-display1", "mod-display2"}
    assert seen[0].revision > first.revision
