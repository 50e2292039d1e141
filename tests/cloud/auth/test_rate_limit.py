"""Login rate limits on a fake clock: pair, account and address counters, known-good addresses, in-flight."""

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
        pair=LimitPolicy(max_failures=3, window=60, lockout=10, max_lockout=35),
        account=LimitPolicy(max_failures=6, window=60, lockout=10, max_lockout=20),
        address=LimitPolicy(max_failures=8, window=60, lockout=20, max_lockout=100),
        clock=clock,
    )


def fail(limits: LoginLimiter, account: str, address: str | None, times: int) -> None:
    for _ in range(times):
        with limits.attempt(account, address) as attempt:
            attempt.failed()


def succeed(limits: LoginLimiter, account: str, address: str | None) -> None:
    with limits.attempt(account, address) as attempt:
        attempt.succeeded()


def retry_after(limits: LoginLimiter, account: str, address: str | None) -> int:
    with pytest.raises(LoginRateLimited) as caught, limits.attempt(account, address):
        pass
    return caught.value.retry_after


def allowed(limits: LoginLimiter, account: str, address: str | None) -> bool:
    try:
        with limits.attempt(account, address):
            return True
    except LoginRateLimited:
        return False


def test_pair_lockout_doubles_up_to_the_cap() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "alice", "a1", 3)
    assert retry_after(limits, "ALICE ", "a1") == 10  # account names are case-blind
    for expected in (20, 35, 35):
        clock.now += 36
        fail(limits, "alice", "a1", 3)
        assert retry_after(limits, "alice", "a1") == expected


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "bob", "b1", 2)
    clock.now += 61
    fail(limits, "bob", "b1", 2)
    assert allowed(limits, "bob", "b1")  # 2 in the window: still allowed


def test_attempts_in_flight_count_against_the_limit() -> None:
    """Twelve concurrent guesses: only as many as the limit get checked (all 12 were before)."""
    limits = limiter(Clock())
    started = 0
    with limits.attempt("carol", "c1"), limits.attempt("carol", "c1"), limits.attempt("carol", "c1"):
        started = 3
        for _ in range(9):
            assert not allowed(limits, "carol", "c1")
    assert started == 3
    assert allowed(limits, "carol", "c1")  # none failed: the budget is back


def test_an_account_sprayed_from_many_addresses_locks_for_new_addresses_only() -> None:
    clock = Clock()
    limits = limiter(clock)
    succeed(limits, "dave", "home")
    for n in range(6):
        fail(limits, "dave", f"attacker-{n}", 1)
    assert not allowed(limits, "dave", "attacker-99")  # the account counter is full
    assert allowed(limits, "dave", "home")  # its owner's usual address is unaffected
    assert limits.is_known_good("dave", "home")
    clock.now += 11  # the first account lock lasts 10 s here (doubling, capped at 15 min by default)
    assert allowed(limits, "dave", "new-laptop")


def test_a_busy_nat_address_does_not_lock_out_its_known_users() -> None:
    clock = Clock()
    limits = limiter(clock)
    succeed(limits, "erin", "nat")
    for n in range(8):
        fail(limits, f"guess-{n}", "nat", 1)
    assert not allowed(limits, "frank", "nat")  # address counter full for accounts new to it
    assert allowed(limits, "erin", "nat")  # erin logged in from here before


def test_known_good_does_not_exempt_the_pair_counter() -> None:
    clock = Clock()
    limits = limiter(clock)
    succeed(limits, "gina", "office")
    fail(limits, "gina", "office", 3)  # a guesser sharing the office NAT
    assert not allowed(limits, "gina", "office")


def test_success_resets_the_pair_and_account_but_not_the_address() -> None:
    clock = Clock()
    limits = limiter(clock)
    fail(limits, "hank", "h1", 2)
    succeed(limits, "hank", "h1")
    fail(limits, "hank", "h1", 2)
    assert allowed(limits, "hank", "h1")
    for n in range(6):
        fail(limits, f"other-{n}", "h1", 1)  # eighth failure from h1: the address locks
    assert retry_after(limits, "ivy", "h1") == 20
    assert allowed(limits, "ivy", "h2")  # another address is fine
    assert allowed(limits, "hank", "h1")  # hank is known-good from h1
