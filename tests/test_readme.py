"""The README stays true: its driver example runs, and its CLI reference names every command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from cli.main import app
from drivers.sdk import metadata_of

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


async def test_driver_example_runs_against_its_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver_source, test_source = _python_blocks()[:2]
    package = tmp_path / "acme_drivers"  # where the README says the driver is saved
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "display.py").write_text(driver_source)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(test_source, "README.md", "exec"), namespace)
    await namespace["test_power_on"]()

    meta = metadata_of(namespace["AcmeDisplay"]).as_json()
    assert meta["implements"] == ["Powerable"]
    assert meta["security"]["administrator"] == ["reboot"]
    assert meta["interface"]["power"]["state"]["type"] == "boolean"


def _command_paths(group: typer.Typer, prefix: str = "transom") -> list[str]:
    paths = [f"{prefix} {info.name}" for info in group.registered_commands if info.name]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name is not None
        paths += _command_paths(sub.typer_instance, f"{prefix} {sub.name}")
    return paths


def test_cli_reference_names_every_command() -> None:
    reference = README.split("## CLI reference", 1)[1]
    missing = [path for path in _command_paths(app) if f"`{path}" not in reference]
    assert not missing, f"README's CLI reference lacks {missing}"
