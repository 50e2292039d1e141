"""Login attempts limited per account and per client address, with exponential lockout.

Each key (an account name, or an address) keeps the times of its recent failures.
When `max_failures` fall within `window` seconds, the key is locked for `lockout`
seconds, doubling with each further lockout up to `max_lockout`. While either the
account or the address is locked, logins are refused unchecked (429, Retry-After)
so a locked account cannot be probed, even with the right password.

A success clears the account's failures and lockouts; the address keeps its own
(one account's owner must not be able to reset an address spraying guesses at others).
Addresses get a higher threshold than accounts, so a shared NAT address is not
locked out by one user's typos.

Counters live in memory: a restart forgets them, which only gives an attacker one
fresh window per restart. Memory is bounded by `max_keys` (oldest idle keys go first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cloud.auth.errors import LoginRateLimited


@dataclass(frozen=True)
class LimitPolicy:
    """How many failures a key may have in a window, and how long it is then locked."""

    max_failures: int = 5
    window: float = 300.0
    lockout: float = 30.0
    max_lockout: float = 3600.0


# Per account: 5 guesses per 5 minutes, then 30 s, 60 s, 120 s ... up to an hour.
ACCOUNT_POLICY = LimitPolicy()
# Per address: several people may share one (NAT), so allow more before locking it.
ADDRESS_POLICY = LimitPolicy(max_failures=20, window=300.0, lockout=60.0)


@dataclass
class _State:
    failures: deque[float] = field(default_factory=deque)
    lockouts: int = 0
    locked_until: float = 0.0
    last_seen: float = 0.0


class _Limiter:
    """Failure counters for one kind of key under one policy."""

    def __init__(self, policy: LimitPolicy, clock: Callable[[], float], max_keys: int) -> None:
        self.policy = policy
        self._clock = clock
        self._max_keys = max_keys
        self._states: OrderedDict[str, _State] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0 if it may now)."""
        state = self._states.get(key)
        if state is None:
            return 0.0
        return max(0.0, state.locked_until - self._clock())

    def failed(self, key: str) -> None:
        now = self._clock()
        state = self._states.pop(key, None) or _State()
        self._states[key] = state  # most recently used last
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
        self._states.pop(key, None)

    def _prune(self, now: float) -> None:
        while len(self._states) > self._max_keys:
            self._states.popitem(last=False)
        # Drop idle, unlocked keys from the old end.
        for key in list(self._states)[:64]:
            state = self._states[key]
            idle = now - state.last_seen > self.policy.window + self.policy.max_lockout
            if idle and state.locked_until <= now:
                del self._states[key]


class LoginLimiter:
    """Counts failed logins per account and per address; refuses while either is locked."""

    def __init__(
        self,
        *,
        account: LimitPolicy = ACCOUNT_POLICY,
        address: LimitPolicy = ADDRESS_POLICY,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._accounts = _Limiter(account, clock, max_keys)
        self._addresses = _Limiter(address, clock, max_keys)

    def check(self, account: str, address: str | None) -> None:
        """Refuse the attempt if the account or address is locked out.

        Raises:
            LoginRateLimited: with the seconds to wait.
        """
        wait = self._accounts.retry_after(_account_key(account))
        if address:
            wait = max(wait, self._addresses.retry_after(address))
        if wait > 0:
            raise LoginRateLimited(max(1, math.ceil(wait)))

    def failed(self, account: str, address: str | None) -> None:
        """Record a failed attempt."""
        self._accounts.failed(_account_key(account))
        if address:
            self._addresses.failed(address)

    def succeeded(self, account: str, address: str | None) -> None:
        """Record a success: the account's failures and lockouts are forgiven."""
        self._accounts.reset(_account_key(account))


def _account_key(account: str) -> str:
    return account.strip().lower()
