"""The asyncio bridge: asyncio coroutines awaited from trio, with trio's cancellation."""

from __future__ import annotations

import asyncio

import pytest
import trio

from drivers.sdk.transports.asyncio_bridge import current_asyncio_loop, open_asyncio_loop, run_aio


async def asyncio_only(value: int) -> int:
    """Something that works only with a running asyncio loop, as asyncssh's internals do."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    loop.call_later(0.01, future.set_result, value * 2)
    return await future


async def test_run_asyncio_code_from_trio() -> None:
    async with open_asyncio_loop():
        assert await run_aio(asyncio_only, 21) == 42


async def test_nested_blocks_share_one_loop() -> None:
    async with open_asyncio_loop() as outer, open_asyncio_loop() as inner:
        assert inner is outer is current_asyncio_loop()


async def test_tasks_started_inside_see_the_loop() -> None:
    results: list[int] = []
    async with open_asyncio_loop(), trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(_collect, results, i)
    assert sorted(results) == [0, 2, 4]


async def _collect(results: list[int], i: int) -> None:
    results.append(await run_aio(asyncio_only, i))


async def test_tasks_started_outside_the_block_find_the_loop() -> None:
    async with trio.open_nursery() as nursery:
        opened = trio.Event()
        results: list[int] = []

        async def outsider() -> None:
            await opened.wait()
            results.append(await run_aio(asyncio_only, 5))

        nursery.start_soon(outsider)
        async with open_asyncio_loop():
            opened.set()
            await trio.sleep(0.1)
    assert results == [10]


async def test_trio_cancellation_cancels_the_asyncio_side() -> None:
    cancelled = False

    async def long_sleep() -> None:
        nonlocal cancelled
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled = True
            raise

    async with open_asyncio_loop():
        with trio.move_on_after(0.05) as scope:
            await run_aio(long_sleep)
    assert scope.cancelled_caught and cancelled


async def test_asyncio_exceptions_reach_trio() -> None:
    async def fail() -> None:
        raise LookupError("from asyncio")

    async with open_asyncio_loop():
        with pytest.raises(LookupError, match="from asyncio"):
            await run_aio(fail)


async def test_without_a_loop_the_error_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="open_asyncio_loop"):
        await run_aio(asyncio_only, 1)
