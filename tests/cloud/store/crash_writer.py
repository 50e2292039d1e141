"""A writer process for the kill -9 test: prints each write only after the store acknowledged it.

Run as `python -m tests.cloud.store.crash_writer STORE TAG` (a SQLite path, a PostgreSQL or a RethinkDB URL);
it writes until killed.
Each output line is `<revision> <table> <id>`, flushed as soon as `put` or `put_many` returns.
"""

from __future__ import annotations

import sys
from itertools import count

import trio

from cloud.store.factory import open_store


async def main(url: str, tag: str) -> None:
    async with await open_store(url) as store:
        for n in count():
            if n % 3 == 0:
                docs = [{"id": f"zone-{tag}-{n}-{i}", "name": f"batch {n}"} for i in range(20)]
                changes = await store.put_many("zones", docs)
            else:
                changes = [await store.put("systems", {"id": f"sys-{tag}-{n}", "name": f"single {n}"})]
            sys.stdout.write("".join(f"{c.revision} {c.table} {c.id}\n" for c in changes))
            sys.stdout.flush()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])
