"""The sync bench's edge: a node's outbox and uplink in a process of their own, driven over stdin.

    python -m tests.bench._sync_edge CLOUD_URL DATA_DIR NODE_ID   (edge key in TRANSOM_EDGE_KEY)

This is the half of `transom edge run` that the link benchmark is about: the node's Outbox
(SQLite, synchronous=FULL, group commit) and `serve_uplink` (the real link over a real
socket to `transom cloud run`), in its own process with its own trio loop. No drivers: the
bench appends status changes and events straight into the outbox, as the node's state bus
does, so the figures are the link's, not a driver's.

Commands, one JSON object per line on stdin; each answers one JSON line on stdout:
- {"cmd": "steady", "modules": [ids], "keys": K}: append len(ids)*K changes, each a distinct
  key (key `k<k>` of each module, value [1, monotonic]); answer once every one is
  acknowledged: offered, seconds (first append to last acknowledgement).
- {"cmd": "backlog", "modules": [ids], "keys": K, "changes": N, "events": E}: append N changes
  round-robin over the modules' keys (key i's j-th value is [j, 0]) and E events ({"n": i}),
  flushed to disk; answer offered, rows (what the compacted outbox will send), last_seq.

The module ids are the bench's seeded modules on this edge: the cloud takes an edge's
status only for modules that edge runs.
- {"cmd": "live", "modules": [ids], "keys": K, "rate": R}: start appending R changes a second
  round-robin over those modules' K keys, each value [seq of that key, monotonic at append].
- {"cmd": "wait_acked", "upto": SEQ}: answer acked_at (monotonic) once nothing at or below
  SEQ is left in the outbox (acknowledgement follows the cloud's commit).
- {"cmd": "flow", "targets": [[module_id, key], ...], "rate": R, "seconds": S}: append R
  changes a second round-robin over the targets for S seconds, each value [monotonic at
  append, seq of that key]; answer once all are acknowledged: offered, start, end (the
  emit window, monotonic), acked_at, final (each "module key" -> its last seq).
- {"cmd": "live_stop"}: stop the live stream, wait until it is acknowledged; answer final
  (each "module key" -> its last seq) and count.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import trio
import trio.lowlevel

from edge.uplink.backoff import Backoff
from edge.uplink.uplink import serve_uplink
from sync.outbox import Outbox
from sync.replica import Replica

# Appends between yields to the loop, so the flusher and the uplink run as they would beside
# a node's state bus (which hands the outbox a host's batch at a time).
YIELD_EVERY = 2_000
# A node's default redial backoff starts at 0.5 s and grows to a minute; capped here at 1 s so
# "cloud back to replayed" measures the replay, and the label says so.
BACKOFF = Backoff(base=0.2, maximum=1.0)


async def _outstanding(outbox: Outbox, upto: int) -> int:
    def count(conn: Any) -> int:
        a = conn.execute("SELECT COUNT(*) FROM compacted WHERE seq <= ?", (upto,)).fetchone()[0]
        b = conn.execute("SELECT COUNT(*) FROM events WHERE seq <= ?", (upto,)).fetchone()[0]
        return int(a) + int(b)

    return await outbox._db(count)


async def _wait_acked(outbox: Outbox, upto: int) -> float:
    while outbox.durable_seq < upto or await _outstanding(outbox, upto):  # noqa: ASYNC110 - no event for acks
        await trio.sleep(0.002)
    return time.monotonic()


class Edge:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.live_scope: trio.CancelScope | None = None
        self.live_final: dict[str, int] = {}
        self.live_last_seq = 0
        self.flow_seqs: dict[tuple[str, str], int] = {}  # across flows: a key's seq never restarts

    async def steady(self, modules: list[str], keys: int) -> dict[str, Any]:
        outbox = self.outbox
        started = time.monotonic()
        last = 0
        n = 0
        for module_id in modules:
            for k in range(keys):
                last = outbox.append_status(module_id, f"k{k:03d}", [1, time.monotonic()])
                n += 1
                if n % YIELD_EVERY == 0:
                    await trio.lowlevel.checkpoint()
        acked_at = await _wait_acked(outbox, last)
        return {"offered": n, "seconds": acked_at - started, "last_seq": last}

    async def backlog(self, modules: list[str], keys: int, changes: int, events: int) -> dict[str, Any]:
        outbox = self.outbox
        total = len(modules) * keys
        names = [(modules[i // keys], f"k{i % keys:03d}") for i in range(total)]
        for n in range(changes):
            module_id, key = names[n % total]
            outbox.append_status(module_id, key, [n // total + 1, 0])
            if n % 20_000 == 0:
                await outbox.flush()
        for n in range(events):
            outbox.append_event("event", modules[n % len(modules)], {"n": n})
            if n % 20_000 == 0:
                await outbox.flush()
        await outbox.flush()
        stats = await outbox.stats()
        return {
            "offered": changes + events,
            "rows": stats.compacted + stats.events,
            "last_seq": outbox.last_seq,
        }

    async def live(self, modules: list[str], keys: int, rate: float, task_status: Any) -> None:
        names = [(m, f"t{k:02d}") for m in modules for k in range(keys)]
        seqs = dict.fromkeys(names, 0)
        with trio.CancelScope() as scope:
            self.live_scope = scope
            task_status.started()
            started = trio.current_time()
            n = 0
            while True:
                name = names[n % len(names)]
                seqs[name] += 1
                self.live_last_seq = self.outbox.append_status(*name, [seqs[name], time.monotonic()])
                self.live_final[f"{name[0]} {name[1]}"] = seqs[name]
                n += 1
                await trio.sleep_until(started + n / rate)

    async def flow(self, targets: list[list[str]], rate: float, seconds: float) -> dict[str, Any]:
        outbox = self.outbox
        names = [(m, k) for m, k in targets]
        seqs = self.flow_seqs
        for name in names:
            seqs.setdefault(name, 0)
        count = int(rate * seconds)
        start = time.monotonic()
        sent = last = 0
        while sent < count:
            # Paced by the clock: every wake-up appends what is due by now, as a host batch does.
            due = min(count, int((time.monotonic() - start) * rate) + 1)
            for n in range(sent, due):
                name = names[n % len(names)]
                seqs[name] += 1
                last = outbox.append_status(*name, [time.monotonic(), seqs[name]])
            sent = due
            await trio.sleep_until(trio.current_time() + max(0.0, start + sent / rate - time.monotonic()))
        end = time.monotonic()
        acked_at = await _wait_acked(outbox, last)
        final = {f"{m} {k}": seq for (m, k), seq in seqs.items() if seq}
        return {"offered": count, "start": start, "end": end, "acked_at": acked_at, "final": final}

    async def live_stop(self) -> dict[str, Any]:
        if self.live_scope is not None:
            self.live_scope.cancel()
        await _wait_acked(self.outbox, self.live_last_seq)
        return {"final": self.live_final, "count": sum(self.live_final.values())}


async def main() -> None:
    cloud_url, data_dir, node_id = sys.argv[1:4]
    key = os.environ["TRANSOM_EDGE_KEY"]
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))

    async def exec_handler(module_id: str, method: str, args: Any, role: str) -> Any:
        return None

    directory = Path(data_dir)
    async with (
        Outbox(directory / "outbox.db") as outbox,
        Replica(directory / "replica.db") as replica,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(outbox.serve)
        await nursery.start(
            partial(serve_uplink, cloud_url, key, node_id, outbox, replica, exec_handler, backoff=BACKOFF)
        )
        edge = Edge(outbox)
        print(orjson.dumps({"ready": True}).decode(), flush=True)
        buffer = b""
        while True:
            chunk = await stdin.receive_some()
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                command = orjson.loads(line)
                cmd = command.pop("cmd")
                if cmd == "live":
                    await nursery.start(edge.live, command["modules"], command["keys"], command["rate"])
                    answer: dict[str, Any] = {"live": True}
                elif cmd == "wait_acked":
                    answer = {"acked_at": await _wait_acked(outbox, command["upto"])}
                else:
                    answer = await getattr(edge, cmd)(**command)
                print(orjson.dumps(answer).decode(), flush=True)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
