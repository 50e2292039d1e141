"""An appender process for the kill -9 test: prints each append only after a flush made it durable.

Run as `python -m tests.sync.outbox.crash_appender OUTBOX_PATH TAG`; it appends until killed.
Each output line is `<seq> event <tag>-<n>` or `<seq> status <module> <key> <n>`, written and
flushed to stdout as soon as `await outbox.flush()` returns.
"""

from __future__ import annotations

import sys
from itertools import count

import trio

from sync.outbox import Outbox


async def main(path: str, tag: str) -> None:
    async with Outbox(path) as outbox:
        for n in count():
            lines = []
            for i in range(n % 7 + 1):  # batches of varied size
                seq = outbox.append_event("event", "mod-crash", f"{tag}-{n}-{i}")
                lines.append(f"{seq} event {tag}-{n}-{i}\n")
            module, key = f"mod-{n % 5}", f"key-{n % 3}"
            seq = outbox.append_status(module, key, n)
            lines.append(f"{seq} status {module} {key} {tag}-{n}\n")
            await outbox.flush()
            sys.stdout.write("".join(lines))
            sys.stdout.flush()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])
