"""The console script answers --help on every command, and the bench runner speaks JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli import bench
from cli.main import app

runner = CliRunner()


def test_help_lists_subcommands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("demo", "bench", "cloud", "edge", "driver", "simulate"):
        assert name in result.output


def test_unknown_benchmark_is_a_clear_error() -> None:
    result = runner.invoke(app, ["bench", "no-such-bench"])
    assert result.exit_code == 2
    assert "no benchmark named 'no-such-bench'" in result.output
    assert "Traceback" not in result.output


def test_json_line_shape() -> None:
    figures = [
        bench.Figure("writes", 25_000.0, "writes/s", target=20_000.0),
        bench.Figure("p99", 80.0, "ms", target=50.0, better="lower"),
        bench.Figure("rss", 12.0, "MB"),
    ]
    line = bench.as_json_line("store", figures)
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["scenario"] == "store"
    assert [f["met"] for f in doc["figures"]] == [True, False, None]
