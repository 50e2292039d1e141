"""Benchmark runner: finds `tests/bench/<name>.py`, runs it, prints a table or one JSON line.

A benchmark module defines ``DESCRIPTION`` (one line) and ``run(quick: bool) -> list[Figure]``
(sync or async; async ones run under trio). ``quick`` asks for a smaller load, for smoke tests.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import trio

# Benchmarks live beside the tests, in the source tree, not in the installed package.
BENCH_DIR = Path(__file__).resolve().parent.parent / "tests" / "bench"


@dataclass(frozen=True)
class Figure:
    """One measured number, with the target an issue names for it (if any)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    better: Literal["higher", "lower"] = "higher"

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.better == "higher":
            return self.value >= self.target
        return self.value <= self.target

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "better": self.better,
            "met": self.met,
        }


class UnknownBenchmarkError(LookupError):
    """Raised when `transom bench NAME` names no file under tests/bench."""


def available() -> dict[str, str]:
    """Return every benchmark name with its one-line description."""
    found: dict[str, str] = {}
    for path in sorted(BENCH_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = _load(path)
        if hasattr(module, "run"):
            found[path.stem.replace("_", "-")] = getattr(module, "DESCRIPTION", "")
    return found


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"transom_bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UnknownBenchmarkError(path.stem)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, *, quick: bool = False, stores: Sequence[str] = ()) -> list[Figure]:
    """Run the benchmark NAME and return its figures.

    `stores` (store URLs) is passed on to a benchmark whose `run` takes it (`bench store`).

    Raises:
        UnknownBenchmarkError: no benchmark has that name.
    """
    path = BENCH_DIR / f"{name.replace('-', '_')}.py"
    if not path.is_file():
        raise UnknownBenchmarkError(name)
    module = _load(path)
    func = module.run
    if stores:
        if "stores" not in inspect.signature(func).parameters:
            raise ValueError(f"bench {name} takes no --store")
        func = functools.partial(func, stores=list(stores))
    if inspect.iscoroutinefunction(module.run):
        figures: list[Figure] = trio.run(func, quick)
    else:
        figures = func(quick)
    return figures


def as_json_line(name: str, figures: list[Figure]) -> str:
    """The one line of JSON that `--json` prints, so runs can be compared over time."""
    return json.dumps({"scenario": name, "figures": [f.as_json() for f in figures]})
