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


def test_version_flag_and_command_agree() -> None:
    """`transom --version` was rejected before; both spellings print the package version."""
    from cli import __version__

    for args in (["--version"], ["-V"], ["version"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, args
        assert result.output.strip() == __version__


def test_messages_are_not_hard_wrapped_when_piped() -> None:
    """Output to a pipe was broken mid-phrase at 80 columns; now the terminal wraps it."""
    import io

    from cli.console import out

    sink = io.StringIO()
    previous = out.file
    out.file = sink
    try:
        message = "Power on Display_1 of Demo Room 1 through the cloud with this curl: " + "x" * 200
        out.print(message)
    finally:
        out.file = previous
    assert sink.getvalue() == message + "\n"


def test_driver_run_refuses_unknown_and_mistyped_settings() -> None:
    """`--setting displayid=3` (a typo) was silently accepted before."""
    target = "drivers.samsung.mdc_display:SamsungMDCDisplay"
    typo = runner.invoke(app, ["driver", "run", target, "--ip", "127.0.0.1", "--setting", "displayid=3"])
    assert typo.exit_code == 2 and "unknown setting displayid" in typo.output
    assert "display_id" in typo.output  # it names the settings the driver has
    wrong = runner.invoke(app, ["driver", "run", target, "--ip", "127.0.0.1", "--setting", "display_id=abc"])
    assert wrong.exit_code == 2 and "display_id" in wrong.output and "Traceback" not in wrong.output
