"""Every benchmark runs end to end in its `--quick` mode, as users run it, so none can rot unnoticed.

Each runs as `transom bench NAME --quick --json` in its own process and must print exactly
one JSON line of well-formed figures; the per-item checks the benchmarks report (lost,
out of order, duplicated, missing, final values wrong) must all be 0. No speed is asserted:
the figures are measurements, not test conditions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import bench

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted(bench.available())
# The benchmarks that start real etcd members.
NEEDS_SERVERS = {"failover", "rebalance"}
# `bench image` builds and boots the edge image under qemu: tens of minutes without KVM, so
# its smoke run is asked for with TRANSOM_IMAGE_TESTS=1 (as tests/image/test_image_boot.py).
IMAGE_SKIP = pytest.mark.skipif(
    os.environ.get("TRANSOM_IMAGE_TESTS") != "1",
    reason="builds and boots the edge image under qemu; set TRANSOM_IMAGE_TESTS=1 to run it",
)
# Words that name a per-item check: such a figure must be 0 whatever the load.
CHECKS = ("lost", "out of order", "missing", "wrong", "never reached", "errors")
FIELDS = {"name", "value", "unit", "target", "better", "met"}
# Seconds a quick run may take on a loaded 2-core machine (the slowest start several processes).
DEADLINE = 280


def test_every_benchmark_file_is_listed() -> None:
    files = {p.stem.replace("_", "-") for p in (ROOT / "tests" / "bench").glob("*.py")}
    # Modules that serve a benchmark (a driver it runs, scenarios another bench calls), not benchmarks.
    helpers = {"--init--", "chatty-driver", "trap-counter", "failover-freezes"}
    assert set(BENCHES) == {f for f in files if not f.startswith("-") and f not in helpers}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n,
            marks=([pytest.mark.servers] if n in NEEDS_SERVERS else [])
            + ([IMAGE_SKIP] if n == "image" else []),
        )
        for n in BENCHES
    ],
)
def test_quick_run_prints_one_line_of_well_formed_figures_with_every_item_accounted_for(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "bench", name, "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout[-2000:]
    line = json.loads(lines[0])
    assert line["scenario"] == name
    assert line["figures"], "a benchmark with no figures"
    for figure in line["figures"]:
        assert set(figure) == FIELDS, figure
        assert isinstance(figure["value"], (int, float)) and math.isfinite(figure["value"]), figure
        assert figure["better"] in ("higher", "lower"), figure
        if figure["target"] is not None:
            assert isinstance(figure["met"], bool), figure
        if any(word in figure["name"] for word in CHECKS):
            assert figure["value"] == 0, f"{name}: {figure['name']} = {figure['value']}"
