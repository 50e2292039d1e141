"""PendingRequests: answers wake their caller, one sweeper times requests out exactly."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from edge.hosts.pending import PendingRequests


def _requests() -> PendingRequests:
    return PendingRequests(timed_out=lambda what, seconds: TimeoutError(f"{what} after {seconds}s"))


async def test_an_answer_wakes_its_caller_with_the_message() -> None:
    requests = _requests()
    request = requests.open(1, timeout=10.0, what="one")
    got = []

    async def caller() -> None:
        got.append(await requests.wait(request))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(requests.serve)
        nursery.start_soon(caller)
        await trio.testing.wait_all_tasks_blocked()
        assert requests.answer(1, {"t": "result", "id": 1, "value": 7})
        assert not requests.answer(1, {"t": "result", "id": 1, "value": 8})  # settled once
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert got == [{"t": "result", "id": 1, "value": 7}]
    assert len(requests) == 0


async def test_an_answer_before_the_caller_waits_is_kept_for_it() -> None:
    requests = _requests()
    request = requests.open(1, timeout=10.0, what="one")
    requests.answer(1, {"value": 1})
    assert await requests.wait(request) == {"value": 1}
    failed = requests.open(2, timeout=10.0, what="two")
    requests.fail(2, ValueError("refused"))
    with pytest.raises(ValueError, match="refused"):
        await requests.wait(failed)


async def test_each_request_times_out_at_its_own_deadline(autojump_clock: trio.testing.MockClock) -> None:
    requests = _requests()
    outcomes: dict[str, tuple[str, float]] = {}

    async def caller(request_id: int, seconds: float, answer_at: float | None) -> None:
        request = requests.open(request_id, timeout=seconds, what=f"r{request_id}")
        if answer_at is not None:

            async def answer() -> None:
                await trio.sleep(answer_at)
                requests.answer(request_id, {"ok": True})

            nursery.start_soon(answer)
        try:
            await requests.wait(request)
        except TimeoutError as exc:
            outcomes[f"r{request_id}"] = (str(exc), trio.current_time())
        else:
            outcomes[f"r{request_id}"] = ("answered", trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(requests.serve)
        nursery.start_soon(caller, 1, 45.0, None)
        nursery.start_soon(caller, 2, 45.0, 10.0)  # answered in time
        nursery.start_soon(caller, 3, 5.0, None)  # a shorter timeout, opened later: expires first
        await trio.sleep(1.0)
        nursery.start_soon(caller, 4, 45.0, None)
        await trio.sleep(100.0)
        nursery.cancel_scope.cancel()
    assert outcomes["r1"] == ("r1 after 45.0s", pytest.approx(45.0))
    assert outcomes["r2"] == ("answered", pytest.approx(10.0))
    assert outcomes["r3"] == ("r3 after 5.0s", pytest.approx(5.0))
    assert outcomes["r4"] == ("r4 after 45.0s", pytest.approx(46.0))
    assert len(requests) == 0


async def test_a_cancelled_caller_is_forgotten_and_a_late_answer_ignored() -> None:
    requests = _requests()
    request = requests.open(1, timeout=10.0, what="one")
    with trio.move_on_after(0.01):
        await requests.wait(request)
    assert len(requests) == 0
    assert not requests.answer(1, {"late": True})


async def test_fail_all_fails_every_waiting_caller() -> None:
    requests = _requests()
    errors: list[BaseException] = []

    async def caller(request_id: int) -> None:
        request = requests.open(request_id, timeout=10.0, what="x")
        try:
            await requests.wait(request)
        except RuntimeError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        for request_id in range(5):
            nursery.start_soon(caller, request_id)
        await trio.testing.wait_all_tasks_blocked()
        requests.fail_all(RuntimeError("the host died"))
    assert [str(e) for e in errors] == ["the host died"] * 5
