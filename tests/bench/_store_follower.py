"""The store bench's subscriber: follows the changefeed of a SQLite store another process writes.

    python -m tests.bench._store_follower STORE_PATH TOTAL

What an API process beside the writer sees: its own SQLiteStore on the same file, reading
the feed with the product's poll interval (a commit by another process wakes no one here).
Prints {"base": head revision} once following, then, after TOTAL revisions past the base or
when stdin closes, {"received": [[revision, monotonic receive time], ...]}.
"""

from __future__ import annotations

import os
import sys
import time

import orjson
import trio

from cloud.store.sqlite import SQLiteStore


async def main() -> None:
    path, total = sys.argv[1], int(sys.argv[2])
    received: list[tuple[int, float]] = []
    async with await SQLiteStore.open(path) as store:
        base = await store.head_revision()

        async def follow(cancel: trio.CancelScope) -> None:
            async for change in store.changes(base):
                received.append((change.revision, time.monotonic()))
                if change.revision - base >= total:
                    break
            cancel.cancel()

        async def stop_on_eof(cancel: trio.CancelScope) -> None:
            stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
            while await stdin.receive_some():
                pass
            cancel.cancel()

        print(orjson.dumps({"base": base}).decode(), flush=True)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow, nursery.cancel_scope)
            nursery.start_soon(stop_on_eof, nursery.cancel_scope)
    print(orjson.dumps({"received": received}).decode(), flush=True)


if __name__ == "__main__":
    trio.run(main)
