"""Test-wide configuration: every module under tests/servers is a fixture plugin."""

from __future__ import annotations

import pkgutil
from pathlib import Path

pytest_plugins = [
    f"tests.servers.{info.name}"
    for info in pkgutil.iter_modules([str(Path(__file__).parent / "servers")])
    if info.name != "ports"
]
