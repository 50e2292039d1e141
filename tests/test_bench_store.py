"""`transom bench store` runs and returns well-formed figures (quick load; no timing asserted)."""

from __future__ import annotations

import json
import math

from cli import bench


def test_bench_store_quick_returns_well_formed_figures() -> None:
    figures = bench.run("store", quick=True)
    names = [f.name for f in figures]
    assert any("batched writes" in n and "FULL" in n for n in names)
    assert "changefeed delivery p99" in names
    for figure in figures:
        assert math.isfinite(figure.value) and figure.value >= 0
        assert figure.better in ("higher", "lower")
    targets = {f.name: (f.target, f.better) for f in figures if f.target is not None}
    assert sorted(targets.values()) == [(50, "lower"), (20_000, "higher")]
    line = json.loads(bench.as_json_line("store", figures))
    assert line["scenario"] == "store"
    keys = {tuple(sorted(f)) for f in line["figures"]}
    assert keys == {("better", "met", "name", "target", "unit", "value")}


def test_bench_store_is_listed() -> None:
    assert "store" in bench.available()
