"""The documented site file (docs/site.example.yaml) loads, addresses its modules, takes its key."""

from __future__ import annotations

from pathlib import Path

from edge.api.auth import EdgeAuthenticator
from edge.config.loader import load_site_config

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "site.example.yaml"


def test_the_example_site_file_is_valid_and_usable() -> None:
    site = load_site_config(EXAMPLE)
    assert site.resolve("sys-boardroom", "Display", 1) == "mod-projector"
    assert site.resolve("sys-boardroom", "Switcher", 1) == "mod-switcher"
    assert site.resolve("sys-boardroom", "Room", 1) == "mod-room"
    room = site.module_config("mod-room")
    assert room.settings["default_volume"] == 40 and room.settings["inputs"] == {"laptop": 1, "pc": 2}
    panel = EdgeAuthenticator(lambda: site).authenticate_api_key(
        "key-panel00001.change-me-example-panel-secret-0001"
    )
    assert panel.user_id == "user-panel"
