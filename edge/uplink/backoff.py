"""Jittered exponential backoff, so a fleet of edges does not reconnect in lockstep after an outage."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# The first retry comes quickly (a blip). The ceiling is low so a cloud that comes back is found
# within a couple of seconds (a retry is one TCP handshake: cheap for the cloud even from a
# fleet), and the jitter keeps a fleet from reconnecting in lockstep.
BASE_DELAY = 0.25
MAX_DELAY = 2.0


@dataclass
class Backoff:
    """Delays for successive failed attempts.

    "Equal jitter": uniform in [c/2, c] where c = min(maximum, base * 2**attempts).
    """

    base: float = BASE_DELAY
    maximum: float = MAX_DELAY
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        """The delay before the next attempt (and count this failure)."""
        ceiling = min(self.maximum, self.base * 2**self.attempts)
        self.attempts = min(self.attempts + 1, 32)
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """A session worked: start again from the base delay."""
        self.attempts = 0
