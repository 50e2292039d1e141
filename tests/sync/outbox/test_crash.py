"""kill -9 of a process appending to the outbox loses no flushed (acknowledged) append."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import orjson
import trio

from sync.outbox import BatchCursor, Outbox

REPO = Path(__file__).resolve().parents[3]


async def _run_and_kill(path: Path, tag: str, lines_before_kill: int) -> list[str]:
    """Start an appender, SIGKILL it mid-stream; return every complete line it printed."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.sync.outbox.crash_appender", str(path), tag],
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
    return [line for line in buffer.decode().splitlines(keepends=True) if line.endswith("\n")]


async def test_kill_9_loses_no_flushed_append(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    events: dict[int, str] = {}
    newest_status: dict[tuple[str, str], int] = {}
    for round, target in enumerate((200, 500, 80)):
        for line in await _run_and_kill(path, f"r{round}", target):
            parts = line.split()
            if parts[1] == "event":
                events[int(parts[0])] = parts[2]
            else:
                newest_status[(parts[2], parts[3])] = int(parts[0])
        async with Outbox(path) as outbox:
            items = await outbox.next_batch(1_000_000, BatchCursor(live_after=0))
            assert outbox.last_seq >= max([*events, *newest_status.values()])
        stored_events = {i.seq: orjson.loads(i.body) for i in items if i.kind == "event"}
        for seq, payload in events.items():
            assert stored_events.get(seq) == payload, f"acknowledged event {seq} was lost"
        stored_status = {(i.module_id, i.key): i.seq for i in items if i.kind == "status"}
        for key, seq in newest_status.items():
            assert stored_status[key] >= seq, f"status {key} went back from {seq} to {stored_status[key]}"
        # Sequence numbers never repeat across crashes.
        assert len({i.seq for i in items}) == len(items)
