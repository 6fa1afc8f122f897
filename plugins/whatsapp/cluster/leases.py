"""Per-session leases in Redis with a rising epoch (a fencing token).

The primitives are the usual ones (those of Redis's single-instance lock recipe and of
Kubernetes leader election): a lease is a key set with ``SET NX PX`` holding ``<node> <epoch>``;
the epoch comes from ``INCR`` on a counter of its own, in the same Lua script, so every new
holder has a larger epoch than every holder before it. Renewing and releasing compare the value
first (compare-and-``PEXPIRE``, compare-and-``DEL``), so a node can only extend or drop a lease
it still holds. Redis runs each script atomically; nothing here is a consensus of our own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. epoch, 'PX', ARGV[2])
return epoch
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Holder:
    node: str
    epoch: int

    @property
    def value(self) -> str:
        return f"{self.node} {self.epoch}"

    @classmethod
    def parse(cls, value: str | None) -> Holder | None:
        if not value or " " not in value:
            return None
        node, _, epoch = value.rpartition(" ")
        return cls(node, int(epoch)) if epoch.isdigit() else None


class Leases:
    """The lease keys of one cluster (``<prefix>lease:<session>``, ``<prefix>epoch:<session>``)."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._acquire = redis.register_script(ACQUIRE)
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)

    def key(self, session: str) -> str:
        return f"{self.prefix}lease:{session}"

    async def acquire(self, session: str, node: str, ttl: float) -> Holder | None:
        """The lease with a new epoch, or None when someone holds it."""
        epoch = int(await self._acquire(keys=[self.key(session), f"{self.prefix}epoch:{session}"],
                                        args=[node, int(ttl * 1000)]))
        return Holder(node, epoch) if epoch else None

    async def renew(self, leases: dict[str, Holder], ttl: float) -> dict[str, bool]:
        """Extend every lease in one round trip: ``{session: still ours}``."""
        if not leases:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for session, holder in leases.items():
                await self._renew(keys=[self.key(session)], args=[holder.value, int(ttl * 1000)], client=pipe)
            results = await pipe.execute()
        return {session: bool(ok) for session, ok in zip(leases, results)}

    async def release(self, session: str, holder: Holder) -> bool:
        return bool(await self._release(keys=[self.key(session)], args=[holder.value]))

    async def holders(self, sessions: list[str]) -> dict[str, Holder | None]:
        if not sessions:
            return {}
        values = await self.redis.mget([self.key(s) for s in sessions])
        return {s: Holder.parse(v) for s, v in zip(sessions, values)}

    async def ttl(self, session: str) -> float:
        """Seconds the lease has left (0 when there is none)."""
        ms = await self.redis.pttl(self.key(session))
        return max(0.0, ms / 1000) if ms and ms > 0 else 0.0
