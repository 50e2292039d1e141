"""kill -9 of a process applying changes leaves the replica at an applied revision, consistent with it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import trio

from sync.replica import Replica
from tests.sync.replica.crash_applier import change

REPO = Path(__file__).resolve().parents[3]


async def _run_and_kill(path: Path, lines_before_kill: int) -> list[int]:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.sync.replica.crash_applier", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    buffer = b""
    killed = False
    with trio.fail_after(60):
        while True:
            chunk = await process.stdout.receive_some()
            if not chunk:
                break
            buffer += chunk
            if not killed and buffer.count(b"\n") >= lines_before_kill:
                process.send_signal(signal.SIGKILL)
                killed = True
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    return [int(line) for line in buffer.decode().splitlines(keepends=True) if line.endswith("\n")]


def _expected(revision: int) -> dict[str, dict[str, object]]:
    """The zones after applying every change up to `revision`."""
    zones: dict[str, dict[str, object]] = {}
    for r in range(1, revision + 1):
        c = change(r)
        if c["op"] == "delete":
            zones.pop(str(c["id"]), None)
        else:
            zones[str(c["id"])] = dict(c["document"])  # type: ignore[call-overload]
    return zones


async def test_kill_9_keeps_every_applied_revision(tmp_path: Path) -> None:
    path = tmp_path / "replica.db"
    for target in (100, 300, 40):
        applied = await _run_and_kill(path, target)
        async with Replica(path) as replica:
            revision = await replica.revision()
            assert revision >= max(applied)
            zones = {z["id"]: z for z in await replica.all("zones")}
        assert zones == _expected(revision)  # a whole batch or none of it
