"""Login attempts limited per account, per (account, address) pair and per address.

Three counters guard each attempt, each locking for a time that doubles with every
further lockout (up to its cap):

- **pair** (this account from this address): 5 failures in 5 minutes. Always applies,
  so a guesser behind a victim's own NAT is slowed like any other.
- **account** (this account from any address): 10 failures in 5 minutes, locked at most
  15 minutes. It does not apply from an address the account has logged in from before
  (a *known-good* address, remembered 30 days), so spraying guesses at an account
  cannot lock its owner out of their usual place for long, or at all.
- **address** (any account from this address): 20 failures in 5 minutes. It does not
  apply to an account already known-good from that address, so one user's typos (or
  one attacker) behind a shared NAT do not lock out everyone else's right passwords.

Accounts are keyed by the user's id when the name resolves to a user (so e-mail,
login name and display name share one budget) and by the normalised name otherwise.
Attempts in flight count against the limits as if they had failed: twelve concurrent
wrong guesses are not all checked because none had finished when the next began.

Counters live in memory: a restart forgets them, which only gives an attacker one
fresh window per restart. Memory is bounded by `max_keys` per counter.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cloud.auth.errors import LoginRateLimited


@dataclass(frozen=True)
class LimitPolicy:
    """How many failures a key may have in a window, and how long it is then locked."""

    max_failures: int = 5
    window: float = 300.0
    lockout: float = 30.0
    max_lockout: float = 3600.0


# One account from one address: 5 guesses per 5 minutes, then 30 s, 60 s, ... up to an hour.
PAIR_POLICY = LimitPolicy()
# One account from everywhere: a distributed guesser; capped so it never denies for long.
ACCOUNT_POLICY = LimitPolicy(max_failures=10, window=300.0, lockout=30.0, max_lockout=900.0)
# One address against any account: several people may share one (NAT), so allow more.
ADDRESS_POLICY = LimitPolicy(max_failures=20, window=300.0, lockout=60.0)
# How long an address stays known-good for an account after a successful login.
KNOWN_GOOD_TTL = 30 * 24 * 3600.0


@dataclass
class _State:
    failures: deque[float] = field(default_factory=deque)
    lockouts: int = 0
    locked_until: float = 0.0
    last_seen: float = 0.0
    in_flight: int = 0


class _Limiter:
    """Failure counters for one kind of key under one policy."""

    def __init__(self, policy: LimitPolicy, clock: Callable[[], float], max_keys: int) -> None:
        self.policy = policy
        self._clock = clock
        self._max_keys = max_keys
        self._states: OrderedDict[str, _State] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0 if it may now); attempts in flight count."""
        state = self._states.get(key)
        if state is None:
            return 0.0
        now = self._clock()
        if state.locked_until > now:
            return state.locked_until - now
        recent = sum(1 for t in state.failures if t > now - self.policy.window)
        if recent + state.in_flight >= self.policy.max_failures:
            # Full with attempts still running: wait for them (or the window) to decide.
            oldest = state.failures[0] if state.failures else now
            return max(1.0, oldest + self.policy.window - now) if not state.in_flight else 1.0
        return 0.0

    def begin(self, key: str) -> None:
        self._touch(key).in_flight += 1

    def end(self, key: str) -> None:
        state = self._states.get(key)
        if state is not None and state.in_flight:
            state.in_flight -= 1

    def failed(self, key: str) -> None:
        now = self._clock()
        state = self._touch(key)
        if state.lockouts and now - state.last_seen > self.policy.max_lockout + self.policy.window:
            state.lockouts = 0  # long quiet: forgive earlier lockouts
        state.last_seen = now
        state.failures.append(now)
        while state.failures and state.failures[0] <= now - self.policy.window:
            state.failures.popleft()
        if len(state.failures) >= self.policy.max_failures:
            duration = min(self.policy.lockout * 2**state.lockouts, self.policy.max_lockout)
            state.locked_until = now + duration
            state.lockouts += 1
            state.failures.clear()
        self._prune(now)

    def reset(self, key: str) -> None:
        state = self._states.get(key)
        if state is not None:
            self._states[key] = _State(in_flight=state.in_flight, last_seen=state.last_seen)

    def _touch(self, key: str) -> _State:
        state = self._states.pop(key, None) or _State(last_seen=self._clock())
        self._states[key] = state  # most recently used last
        return state

    def _prune(self, now: float) -> None:
        while len(self._states) > self._max_keys:
            self._states.popitem(last=False)
        # Drop idle, unlocked keys from the old end.
        for key in list(self._states)[:64]:
            state = self._states[key]
            idle = now - state.last_seen > self.policy.window + self.policy.max_lockout
            if idle and state.locked_until <= now and not state.in_flight:
                del self._states[key]


class LoginAttempt:
    """One login attempt in flight; say how it ended with `failed()` or `succeeded()`."""

    def __init__(self, limiter: LoginLimiter, account: str, address: str | None) -> None:
        self._limiter = limiter
        self.account = account
        self.address = address
        self.outcome: bool | None = None

    def failed(self) -> None:
        self.outcome = False

    def succeeded(self) -> None:
        self.outcome = True


class LoginLimiter:
    """Counts failed logins per pair, account and address; refuses while a counter that applies is full."""

    def __init__(
        self,
        *,
        pair: LimitPolicy = PAIR_POLICY,
        account: LimitPolicy = ACCOUNT_POLICY,
        address: LimitPolicy = ADDRESS_POLICY,
        known_good_ttl: float = KNOWN_GOOD_TTL,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._clock = clock
        self._pairs = _Limiter(pair, clock, max_keys)
        self._accounts = _Limiter(account, clock, max_keys)
        self._addresses = _Limiter(address, clock, max_keys)
        self._known_good: OrderedDict[str, float] = OrderedDict()
        self._known_good_ttl = known_good_ttl
        self._max_keys = max_keys

    @contextmanager
    def attempt(self, account: str, address: str | None) -> Iterator[LoginAttempt]:
        """Reserve an attempt for `account` (a user id, or the name tried) from `address`.

        The attempt counts against the limits while it runs; leave the block having
        called `failed()` or `succeeded()` on it (neither: it counts for nothing).

        Raises:
            LoginRateLimited: a counter that applies is locked or full (nothing is checked).
        """
        account = _account_key(account)
        counters = self._counters(account, address)
        wait = max(limiter.retry_after(key) for limiter, key in counters)
        if wait > 0:
            raise LoginRateLimited(max(1, math.ceil(wait)))
        for limiter, key in counters:
            limiter.begin(key)
        attempt = LoginAttempt(self, account, address)
        try:
            yield attempt
        finally:
            for limiter, key in counters:
                limiter.end(key)
            if attempt.outcome is False:
                for limiter, key in counters:
                    limiter.failed(key)
            elif attempt.outcome is True:
                self._succeeded(account, address)

    def is_known_good(self, account: str, address: str | None) -> bool:
        """Whether `account` logged in from `address` within the known-good time."""
        if not address:
            return False
        until = self._known_good.get(_pair_key(_account_key(account), address))
        return until is not None and until > self._clock()

    def _counters(self, account: str, address: str | None) -> list[tuple[_Limiter, str]]:
        if not address:
            return [(self._accounts, account)]
        counters = [(self._pairs, _pair_key(account, address))]
        if not self.is_known_good(account, address):
            counters += [(self._accounts, account), (self._addresses, address)]
        return counters

    def _succeeded(self, account: str, address: str | None) -> None:
        """The pair's and account's failures are forgiven; the address keeps its own."""
        self._accounts.reset(account)
        if not address:
            return
        pair = _pair_key(account, address)
        self._pairs.reset(pair)
        self._known_good.pop(pair, None)
        self._known_good[pair] = self._clock() + self._known_good_ttl
        while len(self._known_good) > self._max_keys:
            self._known_good.popitem(last=False)


def _account_key(account: str) -> str:
    return account.strip().lower()


def _pair_key(account: str, address: str) -> str:
    return f"{account}\x00{address}"
