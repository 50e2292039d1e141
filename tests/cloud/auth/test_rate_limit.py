"""Login rate limits on a fake clock: the window, exponential lockout, reset, separate keys."""

from __future__ import annotations

import pytest

from cloud.auth.errors import LoginRateLimited
from cloud.auth.rate_limit import LimitPolicy, LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock) -> LoginLimiter:
    return LoginLimiter(
        account=LimitPolicy(max_failures=3, window=60, lockout=10, max_lockout=35),
        address=LimitPolicy(max_failures=5, window=60, lockout=20, max_lockout=100),
        clock=clock,
    )


def fail(limits: LoginLimiter, account: str, address: str, times: int) -> None:
    for _ in range(times):
        limits.check(account, address)
        limits.failed(account, address)


def retry_after(limits: LoginLimiter, account: str, address: str | None) -> int:
    with pytest.raises(LoginRateLimited) as caught:
        limits.check(account, address)
    return caught.value.retry_after


def test_lockout_doubles_up_to_the_cap() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "alice", "a1", 3)
    assert retry_after(limits, "ALICE ", None) == 10  # account names are case-blind
    for expected in (20, 35, 35):
        clock.now += 36
        fail(limits, "alice", f"fresh-{expected}-{clock.now}", 3)
        assert retry_after(limits, "alice", None) == expected


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "bob", "b1", 2)
    clock.now += 61
    fail(limits, "bob", "b1", 2)
    limits.check("bob", "b1")  # 2 in the window: still allowed


def test_success_resets_the_account_but_not_the_address() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "carol", "c1", 2)
    limits.succeeded("carol", "c1")
    fail(limits, "carol", "c1", 2)
    limits.check("carol", "c1")
    fail(limits, "dave", "c1", 1)  # fifth failure from c1: the address locks
    assert retry_after(limits, "erin", "c1") == 20
    limits.check("erin", "c2")  # another address is fine


def test_one_account_locked_leaves_others_open() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "frank", "f1", 3)
    retry_after(limits, "frank", "f2")  # locked from anywhere
    limits.check("grace", "f1")
    clock.now += 11
    limits.check("frank", "f1")
