"""What every benchmark shares: the product's processes, and per-key sequence checks at the receiver.

Benchmarks run the product as users run it (`transom cloud run`, `transom edge run`, driver
host processes) and must verify every item where it lands, so a loss can never pass as
"coalescing" and a rate can never exceed what was offered. This module holds the two pieces
every such benchmark needs, so each bench file stays about its scenario:

- Processes: the end-to-end tests' `Proc`, `start_cloud`, `free_port` and `wait_until`
  (tests/e2e/harness.py) plus `issue_edge_key` (`transom cloud edge-key`), `stop_all`, and
  `EdgeProcess`: a node's outbox and uplink (`_sync_edge.py`) in a process of its own,
  dialling the cloud over the real link, driven by JSON-line commands.
- `SequenceLedger`: the sender numbers each key's values 1, 2, 3...; the receiver feeds every
  value it sees to `observe`; `summary(final)` classifies every offered item as delivered,
  coalesced by design (a newer value of the same key arrived, so it was superseded: verified,
  not assumed), lost (offered, and neither it nor anything newer of its key arrived) or
  out-of-order (a value older than one already seen), and checks every key's final value.
- `percentiles`: figures that carry their sample count in the name, so a p99 of 300 samples
  reads as what it is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import trio

from cli.bench import Figure
from tests.e2e.harness import ADMIN_PASSWORD, TRANSOM, Proc, free_port, start_cloud, wait_until

# `_sync_edge.py` runs as a module from the repository's root: as a script, its directory would
# come first on sys.path and tests/bench/sync.py would shadow the `sync` package.
EDGE_MODULE = "tests.bench._sync_edge"
ROOT = Path(__file__).resolve().parents[2]
# Bounds each answer of the edge process (a replay, a flow, a steady run).
EDGE_WAIT = 600.0

__all__ = [
    "ADMIN_PASSWORD",
    "TRANSOM",
    "EdgeProcess",
    "LedgerSummary",
    "Proc",
    "SequenceLedger",
    "free_port",
    "issue_edge_key",
    "percentile",
    "percentiles",
    "start_cloud",
    "stop_all",
    "wait_until",
]


async def issue_edge_key(data_dir: Path, edge: str) -> tuple[str, str]:
    """`transom cloud edge-key EDGE --data-dir DIR`: (the edge's id, the key its nodes dial with)."""
    done = await trio.run_process(
        [*TRANSOM, "cloud", "edge-key", edge, "--data-dir", str(data_dir)],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        env={**os.environ, "COLUMNS": "500"},  # one line, so the id is not wrapped
    )
    if done.returncode != 0:
        raise RuntimeError(f"edge-key failed: {done.stderr.decode(errors='replace')[-1000:]}")
    found = re.search(r"\((edge-[^)]+)\)", done.stderr.decode())
    if found is None:
        raise RuntimeError(f"edge-key named no edge id: {done.stderr.decode(errors='replace')}")
    return found[1], done.stdout.decode().strip().splitlines()[-1]


async def stop_all(*procs: Proc | None) -> None:
    """SIGTERM each live process and wait (SIGKILL after a while): nothing outlives a bench."""
    for proc in procs:
        if proc is not None and proc.alive():
            await proc.stop(15)


class EdgeProcess:
    """`_sync_edge.py` in its own process; `ask` sends one command and reads its answer line."""

    def __init__(self, proc: Proc, stdout: Any) -> None:
        self.proc = proc
        self._stdout = stdout
        self._buffer = b""

    @classmethod
    async def start(cls, cloud_url: str, data_dir: Path, key: str, log_dir: Path) -> EdgeProcess:
        await trio.Path(data_dir).mkdir(parents=True, exist_ok=True)
        log = (log_dir / "edge.log").open("ab")
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", EDGE_MODULE, cloud_url, str(data_dir), "node-1"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "TRANSOM_EDGE_KEY": key},
        )
        edge = cls(Proc("edge", process, log_dir / "edge.log", log), process.stdout)
        await edge.read()  # ready
        return edge

    async def read(self) -> dict[str, Any]:
        with trio.fail_after(EDGE_WAIT):
            while b"\n" not in self._buffer:
                chunk = await self._stdout.receive_some()
                if not chunk:
                    raise RuntimeError(f"the edge process exited:\n{self.proc.tail()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = orjson.loads(line)
        return answer

    async def ask(self, cmd: str, **args: Any) -> dict[str, Any]:
        stdin = self.proc.process.stdin
        assert stdin is not None
        await stdin.send_all(orjson.dumps({"cmd": cmd, **args}) + b"\n")
        return await self.read()


@dataclass(frozen=True)
class LedgerSummary:
    """Every offered item, classified at the receiver (see the module docstring)."""

    offered: int
    delivered: int
    coalesced: int
    lost: int
    out_of_order: int
    duplicates: int
    keys: int
    keys_final_wrong: int

    @property
    def clean(self) -> bool:
        return not (self.lost or self.out_of_order or self.duplicates or self.keys_final_wrong)

    def as_json(self) -> dict[str, int]:
        return {
            "offered": self.offered,
            "delivered": self.delivered,
            "coalesced": self.coalesced,
            "lost": self.lost,
            "out_of_order": self.out_of_order,
            "duplicates": self.duplicates,
            "keys": self.keys,
            "keys_final_wrong": self.keys_final_wrong,
        }


@dataclass
class SequenceLedger:
    """Per-key sequence numbers as a receiver saw them (1 is each key's first value)."""

    last: dict[Hashable, int] = field(default_factory=dict)
    delivered: int = 0
    out_of_order: int = 0
    duplicates: int = 0

    def observe(self, key: Hashable, seq: int) -> None:
        previous = self.last.get(key, 0)
        if seq > previous:
            self.last[key] = seq
            self.delivered += 1
        elif seq == previous:
            self.duplicates += 1
        else:
            self.out_of_order += 1

    def observe_all(self, items: Iterable[tuple[Hashable, int]]) -> None:
        for key, seq in items:
            self.observe(key, seq)

    def summary(self, final: Mapping[Hashable, int]) -> LedgerSummary:
        """Classify against what was offered: `final[key]` is the last seq sent for that key.

        Every value below a key's newest received seq that was not itself received was
        superseded by that newer value (coalesced, and the newer one's arrival proves it);
        everything above the newest received seq was lost.
        """
        offered = sum(final.values())
        lost = sum(max(0, last - self.last.get(key, 0)) for key, last in final.items())
        wrong = sum(1 for key, last in final.items() if self.last.get(key) != last)
        extra = sum(1 for key in self.last if key not in final)  # values nobody offered
        return LedgerSummary(
            offered=offered,
            delivered=self.delivered,
            coalesced=offered - lost - self.delivered,
            lost=lost,
            out_of_order=self.out_of_order,
            duplicates=self.duplicates,
            keys=len(final),
            keys_final_wrong=wrong + extra,
        )


def ledger_figures(label: str, summary: LedgerSummary) -> list[Figure]:
    """The per-item figures of one delivery check: lost and out-of-order must be 0."""
    return [
        Figure(f"{label}: offered", summary.offered, "items"),
        Figure(f"{label}: delivered", summary.delivered, "items"),
        Figure(f"{label}: coalesced (superseded by a newer value, verified)", summary.coalesced, "items"),
        Figure(f"{label}: lost", summary.lost, "items", 0, "lower"),
        Figure(
            f"{label}: out of order or duplicated",
            summary.out_of_order + summary.duplicates,
            "items",
            0,
            "lower",
        ),
        Figure(f"{label}: keys whose final value is wrong", summary.keys_final_wrong, "keys", 0, "lower"),
    ]


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` of the sorted samples (nan for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def percentiles(
    label: str, seconds: list[float], targets: Mapping[float, float] | None = None, unit_scale: float = 1000.0
) -> list[Figure]:
    """p50 and p99 (ms) of latency samples, each named with its sample count."""
    targets = targets or {}
    count = len(seconds)
    return [
        Figure(
            f"{label} p{round(fraction * 100)} (n={count:,})",
            round(percentile(seconds, fraction) * unit_scale, 2),
            "ms",
            targets.get(fraction),
            "lower",
        )
        for fraction in (0.5, 0.99)
    ]
