"""`transom bench dispatch --quick` runs end to end with well-formed figures; no timing asserted."""

from __future__ import annotations

import json
import math

import pytest

from cli import bench

pytestmark = pytest.mark.slow


def test_bench_dispatch_quick_returns_well_formed_figures() -> None:
    figures = bench.run("dispatch", quick=True)
    by_name = {f.name: f for f in figures}
    assert any(name.startswith("garbage flood") for name in by_name)
    for figure in figures:
        assert math.isfinite(figure.value) and figure.value >= 0
        assert figure.better in ("higher", "lower")
    # the verification figures are there (their values are the machine's to decide)
    assert {"good traps lost", "good traps out of order", "node CPU per second of flood"} <= set(by_name)
    line = json.loads(bench.as_json_line("dispatch", figures))
    assert line["scenario"] == "dispatch" and len(line["figures"]) == len(figures)


def test_bench_dispatch_is_listed() -> None:
    assert "dispatch" in bench.available()
