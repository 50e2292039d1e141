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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio_asyncio

T = TypeVar("T")


@asynccontextmanager
async def open_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Make sure an asyncio loop runs on top of trio for the body of the block.

    Reuses the loop of an enclosing `open_asyncio_loop()` (so nesting is cheap and every
    module of a process shares one loop); otherwise opens one in a nursery owned by this
    block, and closes it, cancelling its asyncio tasks, when the block ends.

    Yields:
        The loop, for `run_aio(..., loop=...)` from tasks started outside the block.
    """
    loop = trio_asyncio.current_loop.get()
    if loop is not None and not loop.is_closed():
        yield loop
        return
    async with trio_asyncio.open_loop() as new_loop:
        yield new_loop


def current_asyncio_loop() -> asyncio.AbstractEventLoop:
    """Return the loop of the enclosing `open_asyncio_loop()`.

    Raises:
        RuntimeError: there is none; the message says where to open it.
    """
    loop = trio_asyncio.current_loop.get()
    if loop is None or loop.is_closed():
        raise RuntimeError(
            "no asyncio loop for this trio task: run asyncio-backed transports (SSH, SNMP) "
            "inside `async with open_asyncio_loop():`"
        )
    return loop


async def run_aio(
    fn: Callable[..., Awaitable[T]], *args: Any, loop: asyncio.AbstractEventLoop | None = None
) -> T:
    """Await the asyncio coroutine function `fn(*args)` from trio.

    Args:
        fn: an asyncio-flavoured async function (or bound method).
        loop: the loop to run it on; by default the current task's (see
            `current_asyncio_loop`). Objects of asyncio libraries belong to the loop that
            made them, so a transport passes the loop it connected on.

    Raises:
        RuntimeError: there is no loop (see `current_asyncio_loop`).
        Whatever `fn` raises; a trio cancellation cancels it and raises trio.Cancelled.
    """
    result: T = await trio_asyncio.aio_as_trio(fn, loop=loop or current_asyncio_loop())(*args)
    return result
