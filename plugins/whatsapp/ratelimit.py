"""Per-session send limits: a token bucket, plus a random pause before each send.

Bursts of identical, evenly spaced messages are what gets numbers banned, so even
sends within the limit wait a random fraction of ``jitter_seconds``.
"""
from __future__ import annotations

import random
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

    def give_back(self) -> None:
        """Return a token taken for a send that never happened."""
        self._refill()
        self._tokens = min(self.capacity, self._tokens + 1.0)


class SendLimiter:
    """One bucket per session key."""

    def __init__(self, per_minute: float, burst: int, jitter_seconds: float) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.jitter_seconds = jitter_seconds
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.per_minute, self.burst)
        return bucket.take()

    def give_back(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.give_back()

    def jitter(self) -> float:
        return random.uniform(0, self.jitter_seconds) if self.jitter_seconds else 0.0

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)
