"""The token bucket behind each session's send rate (see ``sendqueue``).

Bursts of identical, evenly spaced messages are what gets numbers banned, so the queue also
waits a random fraction of ``jitter_seconds`` before each send.
"""
from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, per_minute: float, burst: int, *, clock=time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def take(self) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate
