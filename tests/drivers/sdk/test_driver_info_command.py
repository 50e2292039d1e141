"""`transom driver info` prints a driver's metadata from a dotted path or a file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()

DRIVER_FILE = '''
"""A file-based driver for the CLI test."""
from drivers.sdk import Driver, Level, Powerable, security


class Relay(Driver, Powerable):
    descriptive_name = "Relay"
    default_port = 23

    async def power(self, state: bool) -> None: ...

    @security(Level.SUPPORT)
    async def pulse(self, ms: int = 100) -> None: ...
'''


def test_info_from_a_dotted_path() -> None:
    result = runner.invoke(app, ["driver", "info", "tests.drivers.sdk.test_metadata:Projector"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["generic_name"] == "Display"
    assert doc["implements"] == ["Powerable", "Switchable"]
    assert doc["interface"]["power"] == {"state": {"type": "boolean"}}


def test_info_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "relay.py"
    path.write_text(DRIVER_FILE)
    result = runner.invoke(app, ["driver", "info", str(path)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["descriptive_name"] == "Relay"
    assert doc["transport"] == "tcp" and doc["default_port"] == 23
    assert doc["security"] == {"support": ["pulse"], "administrator": []}
    assert doc["interface"]["pulse"] == {"ms": {"type": "integer", "default": 100}}


def test_info_on_a_module_with_several_drivers_asks_for_the_class() -> None:
    result = runner.invoke(app, ["driver", "info", "tests.drivers.sdk.test_system"])
    assert result.exit_code == 2
    assert "name it as" in result.output
    assert "Traceback" not in result.output


def test_info_on_nothing_is_a_clear_error() -> None:
    result = runner.invoke(app, ["driver", "info", "no.such.module"])
    assert result.exit_code == 2
    assert "cannot import 'no.such.module'" in result.output


def test_info_has_help() -> None:
    result = runner.invoke(app, ["driver", "info", "-h"])
    assert result.exit_code == 0
    assert "Example" in result.output
