"""Slowing down password guessing without locking the real user out.

Wrong passwords are counted three ways within a sliding window:

- per account (the user row found, never the string typed, so spelling variants of one name
  share one count), up to ``per_user``;
- per client address, whatever name it tried (unknown names included), up to ``per_address``;
- on the whole server, up to ``global_max``.

An address over its own limit is refused. An account over its limit is refused only from
addresses that have failed before: its owner, typing the right password from an address with no
failures, still gets in. Past the server-wide cap, every address with a failure is refused. Names
that match no account never create an entry of their own, so a flood of junk names cannot push
out a victim's count; the per-address table is bounded and forgets its least recent address
first.

Counts live in this process's memory: a restart forgets them.
"""
from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Callable


class _Window:
    """Failure times within the last ``window`` seconds. Only the newest ``cap`` are kept: a
    limit of ``cap`` only needs to know whether there are ``cap`` and when the oldest expires."""

    __slots__ = ("times",)

    def __init__(self, cap: int | None = None) -> None:
        self.times: deque[float] = deque(maxlen=cap)

    def count(self, now: float, window: float) -> int:
        while self.times and self.times[0] <= now - window:
            self.times.popleft()
        return len(self.times)

    def free_at(self, window: float) -> float:
        """When the oldest failure leaves the window."""
        return self.times[0] + window


class LoginThrottle:
    def __init__(
        self,
        per_user: int,
        per_address: int,
        global_max: int,
        window: float,
        max_addresses: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.global_max = global_max
        self.window = window
        self.max_addresses = max_addresses
        self._clock = clock
        self._users: dict[int, _Window] = {}
        self._addresses: OrderedDict[str, _Window] = OrderedDict()
        self._global = _Window(cap=global_max)

    def retry_after(self, user_id: int | None, address: str) -> float:
        """Seconds until this address may try this account again; 0 when it may try now."""
        now = self._clock()
        waits: list[float] = []
        by_address = self._addresses.get(address)
        address_failures = by_address.count(now, self.window) if by_address else 0
        if address_failures >= self.per_address:
            waits.append(by_address.free_at(self.window) - now)
        if address_failures:
            by_user = self._users.get(user_id) if user_id is not None else None
            if by_user is not None and by_user.count(now, self.window) >= self.per_user:
                waits.append(by_user.free_at(self.window) - now)
            if self._global.count(now, self.window) >= self.global_max:
                waits.append(self._global.free_at(self.window) - now)
        return max(waits, default=0.0)

    def failed(self, user_id: int | None, address: str) -> None:
        now = self._clock()
        if user_id is not None:
            self._users.setdefault(user_id, _Window(cap=self.per_user)).times.append(now)
        window = self._addresses.get(address)
        if window is None:
            window = self._addresses[address] = _Window(cap=self.per_address)
            while len(self._addresses) > self.max_addresses:
                self._addresses.popitem(last=False)
        window.times.append(now)
        self._addresses.move_to_end(address)
        self._global.times.append(now)

    def succeeded(self, user_id: int, address: str) -> None:
        """A right password. A mistyped one before it is forgiven, unless the account is being
        guessed at (over its limit): then its count stays until the window passes."""
        window = self._users.get(user_id)
        if window is not None and window.count(self._clock(), self.window) < self.per_user:
            del self._users[user_id]


class RateLimit:
    """At most ``limit`` events per key within ``window`` seconds (registrations per address)."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, _Window] = OrderedDict()

    def take(self, key: str) -> float:
        """Count one event and return 0, or return the seconds to wait (counting nothing)."""
        now = self._clock()
        window = self._keys.get(key)
        if window is not None and window.count(now, self.window) >= self.limit:
            return window.free_at(self.window) - now
        if window is None:
            window = self._keys[key] = _Window(cap=self.limit)
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        window.times.append(now)
        self._keys.move_to_end(key)
        return 0.0
