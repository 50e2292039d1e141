"""`transom bench store --store URL`: the same figures for other store engines, in one run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import bench
from cli.main import app


def test_bench_store_measures_each_store_given(tmp_path: Path, rethinkdb_url: str) -> None:
    figures = bench.run("store", quick=True, stores=[f"sqlite:///{tmp_path}/extra.db", rethinkdb_url])
    by_name = {f.name: f for f in figures}
    for engine in ("sqlite", "rethinkdb"):
        writes = by_name[f"{engine}: batched writes (500/batch)"]
        p99 = by_name[f"{engine}: changefeed delivery p99"]
        assert writes.value > 0 and writes.better == "higher"
        assert p99.value >= 0 and (p99.unit, p99.better) == ("ms", "lower")
    assert (tmp_path / "extra.db").is_file()


def test_store_urls_are_refused_by_benchmarks_without_stores() -> None:
    with pytest.raises(ValueError, match="takes no --store"):
        bench.run("rebalance", quick=True, stores=["sqlite:///x.db"])
    result = CliRunner().invoke(app, ["bench", "rebalance", "--quick", "--store", "sqlite:///x.db"])
    assert result.exit_code == 2
    assert "takes no --store" in result.output
