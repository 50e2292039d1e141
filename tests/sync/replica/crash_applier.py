"""An applier process for the kill -9 test: prints each revision only after the replica applied it.

Run as `python -m tests.sync.replica.crash_applier REPLICA_PATH`; it applies changes until killed,
resuming from the replica's revision. Revision r writes zone `zone-<r % 50>` with `{"n": r}`
(every 10th revision deletes it instead), in batches of 1 to 5 changes.
"""

from __future__ import annotations

import sys

import trio

from sync.replica import Replica


def change(revision: int) -> dict[str, object]:
    id = f"zone-{revision % 50}"
    if revision % 10 == 0:
        return {"revision": revision, "table": "zones", "id": id, "op": "delete", "document": None}
    return {
        "revision": revision,
        "table": "zones",
        "id": id,
        "op": "update",
        "document": {"id": id, "n": revision},
    }


async def main(path: str) -> None:
    async with Replica(path) as replica:
        revision = await replica.revision()
        while True:
            size = revision % 5 + 1
            await replica.apply_changes([change(r) for r in range(revision + 1, revision + size + 1)])
            revision += size
            sys.stdout.write(f"{revision}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
