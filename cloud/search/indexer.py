"""The indexer (PlaceOS's rubber-soul): follows the store's changefeed into a search index.

    serve_indexer  resume from the index's last revision and follow the changefeed, in
                   batches, until cancelled
    reindex        clear the index and rebuild it from a snapshot of every table

Exactness: the index records the revision of the newest change it reflects in the same
transaction as the change (SearchIndex.apply), and the changefeed replays every change
after a given revision in order, so a restart neither misses nor repeats a change.

A snapshot read page by page is not one consistent view of the store: writes between pages
can move documents across page boundaries. `reindex` therefore marks the snapshot with the
revision seen *before* its first read and re-reads a table whose pages saw different
revisions (then, after a few tries, reads it in one query). Every document it indexes is
then at that revision or newer, no document is skipped, and following the changefeed from
the mark re-applies the newer changes in order, which converges on the store's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import aclosing

import trio

from cloud.search.errors import IndexAheadOfStore
from cloud.search.fields import TABLE_FIELDS
from cloud.search.seam import SearchIndex
from cloud.store.base import Change, ConfigStore, Query

logger = logging.getLogger(__name__)

# Changes applied per transaction: large enough to amortise a commit, small enough that a
# busy feed still shows up in search within a fraction of a second.
BATCH_SIZE = 500
# Documents read per store query while rebuilding.
PAGE_SIZE = 1000
# Re-reads of a table whose pages were written between before reading it in one query.
PAGED_ATTEMPTS = 3

Progress = Callable[[int, int], None]
"""Called as progress(done, total) with a growing number of documents indexed."""


async def serve_indexer(
    store: ConfigStore,
    index: SearchIndex,
    *,
    batch_size: int = BATCH_SIZE,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep `index` in step with `store` until cancelled.

    Resumes after the index's last revision. Changes that are already waiting are applied
    together, up to `batch_size` per transaction. Signals `task_status.started()` once the
    index has caught up with the store's head revision as it was at the start, so a caller
    doing `await nursery.start(serve_indexer, ...)` then searches a current index.

    Raises:
        IndexAheadOfStore: the index reflects revisions the store does not have.
        SearchError, StoreError: the index or the store broke (the caller may restart).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more, not {batch_size!r}")
    since = await index.last_revision()
    head = await store.head_revision()
    if since > head:
        raise IndexAheadOfStore(since, head)
    logger.info("search indexer resuming", extra={"since": since, "head": head})
    started = False
    if since >= head:
        task_status.started()
        started = True
    send, receive = trio.open_memory_channel[Change](batch_size)

    async def follow() -> None:
        async with send, aclosing(store.changes(since)) as feed:
            async for change in feed:
                await send.send(change)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow)
        async with receive:
            async for first in receive:
                batch = [first]
                while len(batch) < batch_size:
                    try:
                        batch.append(receive.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                await index.apply(batch)
                if not started and batch[-1].revision >= head:
                    logger.info("search indexer caught up", extra={"revision": batch[-1].revision})
                    task_status.started()
                    started = True
        nursery.cancel_scope.cancel()  # the feed ended (the store was closed)


async def reindex(
    store: ConfigStore,
    index: SearchIndex,
    *,
    progress: Progress | None = None,
    tables: Iterable[str] | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Clear `index` and rebuild it from every table of `store`; return the documents indexed.

    Run it while no indexer is following into the same index (with the cloud stopped, or
    before starting `serve_indexer`): a running indexer keeps its own place in the feed.
    Afterwards `serve_indexer` continues exactly from the snapshot's revision.

    Args:
        progress: called with (documents indexed so far, documents to index), first with 0
            and last with equal numbers; `done` never decreases.
        tables: the tables to index (default: every table of the domain model).
        page_size: documents per store query.
    """
    names = list(TABLE_FIELDS if tables is None else tables)
    report = progress or (lambda done, total: None)
    await index.clear()
    mark = await store.head_revision()  # every document read below is at this revision or newer
    await index.apply([], revision=mark)
    counts = {name: (await store.query(name, Query(limit=0))).total for name in names}
    total = sum(counts.values())
    done = 0
    report(0, total)
    for name in names:
        seen = 0
        for attempt in range(PAGED_ATTEMPTS + 1):
            whole = attempt == PAGED_ATTEMPTS
            offset, revision, seen_now = 0, None, 0
            consistent = True
            while True:
                page = await store.query(
                    name, Query(order_by=["id"], limit=None if whole else page_size, offset=offset)
                )
                if revision is None:
                    revision = page.revision
                elif page.revision != revision:
                    consistent = False  # written between pages: some documents may have moved
                    break
                await index.apply(
                    [Change(mark, name, doc["id"], "update", doc) for doc in page.items], revision=mark
                )
                seen_now += len(page.items)
                if seen_now > seen:  # a re-read counts only what it adds
                    done += seen_now - seen
                    seen = seen_now
                    total = max(total, done)
                    report(done, total)
                offset += len(page.items)
                if whole or len(page.items) < page_size:
                    break
            if consistent:
                break
            logger.info("store written during reindex; reading the table again", extra={"table": name})
    report(done, done)
    logger.info("search index rebuilt", extra={"documents": done, "revision": mark})
    return done
