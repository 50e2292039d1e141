"""kill -9 of a writer process (any engine) loses no acknowledged write and leaves no gap in the feed."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import trio

from tests.cloud.store.conftest import Engine
from tests.cloud.store.helpers import collect

REPO = Path(__file__).resolve().parents[3]


async def _run_and_kill(path: Path | str, tag: str, acks_before_kill: int) -> list[tuple[int, str, str]]:
    """Start a writer, SIGKILL it once it has acknowledged enough writes; return every ack it printed."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.cloud.store.crash_writer", str(path), tag],
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
            if not killed and buffer.count(b"\n") >= acks_before_kill:
                process.send_signal(signal.SIGKILL)  # mid-stream: the writer never pauses
                killed = True
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    acks = []
    for line in buffer.decode().splitlines(keepends=True):
        if line.endswith("\n"):  # a line cut by the kill was never fully reported
            revision, table, id = line.split()
            acks.append((int(revision), table, id))
    return acks


async def test_kill_9_loses_no_acknowledged_write(engine: Engine) -> None:
    path = engine.new_url()
    acked: list[tuple[int, str, str]] = []
    for round, target in enumerate((150, 400, 60)):
        acked += await _run_and_kill(path, f"r{round}", target)
        async with await engine.open(path) as store:
            head = await store.head_revision()
            assert head >= max(revision for revision, _, _ in acked)
            feed = await collect(store, 0, head)
            assert [c.revision for c in feed] == list(range(1, head + 1))
            by_revision = {c.revision: c for c in feed}
            for revision, table, id in acked:
                entry = await store.get_entry(table, id)
                assert entry is not None, f"acknowledged {table}/{id} at {revision} was lost"
                assert entry.revision == revision
                assert (by_revision[revision].table, by_revision[revision].id) == (table, id)


async def test_a_subscriber_follows_a_writer_in_another_process(engine: Engine) -> None:
    """Writes by another process arrive (by polling, or the engine's push), in order and without gaps."""
    path = engine.new_url()
    async with await engine.open(path, poll_interval=0.05) as store:  # creates the store first
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "tests.cloud.store.crash_writer", str(path), "p"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
        try:
            received = await collect(store, 0, 200)
        finally:
            process.kill()
            await process.wait()
        assert [c.revision for c in received] == list(range(1, 201))
        for change in received:
            assert await store.get_entry(change.table, change.id) is not None
