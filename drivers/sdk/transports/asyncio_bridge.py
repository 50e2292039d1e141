"""The one adapter through which asyncio-only libraries (asyncssh, pysnmp 7) run under trio.

Transom is trio everywhere, but some device protocols have no trio-native library worth
having: asyncssh and pysnmp 7 (like redis.asyncio) call asyncio's loop directly and fail
under trio. trio-asyncio runs an asyncio loop as guests of the trio run, so their
coroutines become awaitable from trio, trio cancellation cancels them, and their
callbacks run on the trio thread. Only this module imports trio_asyncio; the SSH and SNMP
transports go through `run_aio`, and nothing outside them sees asyncio.

Usage: whoever runs asyncio-backed transports (a driver host process, a test) wraps that
work in `async with open_asyncio_loop():` once; transports opened inside use that loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio
import trio_asyncio

T = TypeVar("T")

log = logging.getLogger(__name__)

# The loop open for this trio run, so that every task of the run finds it, including tasks
# not started inside the `open_asyncio_loop()` block (trio_asyncio's own marker is a context
# variable, which only tasks spawned inside the block inherit).
_RUN_LOOP: trio.lowlevel.RunVar[asyncio.AbstractEventLoop | None] = trio.lowlevel.RunVar(
    "transom_asyncio_loop", default=None
)


@asynccontextmanager
async def open_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Make sure an asyncio loop runs on top of trio for the current trio run.

    Reuses the loop already open in this run (so nesting is cheap and every module of a
    process shares one loop); otherwise opens one in a nursery owned by this block, and
    closes it, cancelling its asyncio tasks, when the block ends.

    Yields:
        The loop.
    """
    loop = _open_loop()
    if loop is not None:
        yield loop
        return
    async with trio_asyncio.open_loop() as new_loop:
        new_loop.set_exception_handler(_log_callback_error)
        _RUN_LOOP.set(new_loop)
        try:
            yield new_loop
        finally:
            _RUN_LOOP.set(None)


def _log_callback_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Log an error raised in an asyncio callback, as plain asyncio does.

    trio-asyncio's default handler re-raises it into the loop's nursery, which would end
    every transport of the process (a whole driver host) over one stray callback, such as
    pysnmp meeting a reply that arrives just after its client closed.
    """
    error = context.get("exception")
    log.warning("asyncio callback error (ignored): %s", context.get("message"), exc_info=error)


def current_asyncio_loop() -> asyncio.AbstractEventLoop:
    """Return the loop `open_asyncio_loop()` keeps open for this trio run.

    Raises:
        RuntimeError: there is none; the message says where to open it.
    """
    loop = _open_loop()
    if loop is None:
        raise RuntimeError(
            "no asyncio loop for this trio task: run asyncio-backed transports (SSH, SNMP) "
            "inside `async with open_asyncio_loop():`"
        )
    return loop


def _open_loop() -> asyncio.AbstractEventLoop | None:
    loop = trio_asyncio.current_loop.get() or _RUN_LOOP.get()
    return loop if loop is not None and not loop.is_closed() else None


async def run_aio(
    fn: Callable[..., Awaitable[T]], *args: Any, loop: asyncio.AbstractEventLoop | None = None
) -> T:
    """Await the asyncio coroutine function `fn(*args)` from trio.

    Args:
        fn: an asyncio-flavoured async function (or bound method).
        loop: the loop to run it on; by default the run's (see `current_asyncio_loop`).
            Objects of asyncio libraries belong to the loop that made them, so a
            transport passes the loop it connected on.

    Raises:
        RuntimeError: there is no loop (see `current_asyncio_loop`).
        Whatever `fn` raises; a trio cancellation cancels it and raises trio.Cancelled.
    """
    result: T = await trio_asyncio.aio_as_trio(fn, loop=loop or current_asyncio_loop())(*args)
    return result
