"""A synced edge node for the e2e tests: `serve_node` with a quick redial and a journal of the outbox.

    python -m tests.e2e.node_runner --data-dir D --cloud URL --listen H:P --node-id N --journal FILE

(the edge key comes from TRANSOM_EDGE_KEY). The journal has one JSON object a line, each
written with one os.write, so a kill -9 keeps every line written before it:

    {"e": seq, "k": kind, "m": module_id, "p": payload}   an event appended to the outbox
    {"s": seq, "m": module_id, "k": key, "v": value}      a status appended to the outbox
    {"d": durable_seq}                                    every append with seq <= this is on disk

So "acknowledged as durable" is exact: an append with seq <= the last "d" line had its flush
complete (the outbox's contract) before the node was killed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from functools import partial
from typing import Any

import orjson
import trio

from edge.node import NodeOptions, serve_node
from edge.uplink.backoff import Backoff
from sync.outbox import Outbox

# Redial quickly: a test's outage ends when the test says so, not a minute later.
TEST_BACKOFF = Backoff(base=0.2, maximum=1.0)


class Journal:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        os.write(self.fd, orjson.dumps(record) + b"\n")


def install(journal: Journal) -> None:
    """Journal every status and event appended to any Outbox of this process."""
    append_event, append_status = Outbox.append_event, Outbox.append_status

    def event(self: Outbox, kind: str, module_id: str, payload: Any) -> int:
        seq = append_event(self, kind, module_id, payload)
        journal.write({"e": seq, "k": kind, "m": module_id, "p": payload})
        return seq

    def status(self: Outbox, module_id: str, key: str, value: Any) -> int:
        seq = append_status(self, module_id, key, value)
        journal.write({"s": seq, "m": module_id, "k": key, "v": value})
        return seq

    Outbox.append_event = event  # type: ignore[method-assign]
    Outbox.append_status = status  # type: ignore[method-assign]


async def follow_durable(outbox: Outbox, journal: Journal) -> None:
    while True:
        journal.write({"d": outbox.durable_seq})
        await outbox.wait_written()


async def main(args: argparse.Namespace) -> None:
    journal = Journal(args.journal)
    install(journal)
    options = NodeOptions(
        data_dir=args.data_dir,
        node_id=args.node_id,
        listen=args.listen,
        cloud=args.cloud,
        edge_key=os.environ["TRANSOM_EDGE_KEY"],
        uplink_backoff=TEST_BACKOFF,
    )
    async with trio.open_nursery() as nursery:

        async def node(task_status: trio.TaskStatus[dict[str, Any]]) -> None:
            await serve_node(options, task_status=task_status)  # returns on SIGTERM
            nursery.cancel_scope.cancel()

        started = await nursery.start(node)
        print(f"Transom edge node {started['node_id']} on {started['api']}/api/engine/v2", flush=True)
        nursery.start_soon(partial(follow_durable, started["link"].outbox, journal))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("--data-dir", "--cloud", "--listen", "--node-id", "--journal"):
        parser.add_argument(name, required=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main, parser.parse_args())
