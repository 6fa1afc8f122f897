"""bcrypt off the event loop, in worker processes that the event loop always outranks.

A bcrypt check at the default cost takes a quarter of a second of CPU. In a thread it ran beside
the event loop at the same priority, so with 20 logins in flight every request also queued behind
the checks for the core (docs/benchmarks.md, "Event loop health"). Here the hashing runs in
``auth.hash_workers`` processes that lower their own priority as they start (``os.nice``,
:data:`NICENESS`): whenever the event loop has work the scheduler gives it the core, and the
hashing gets what is left. A process has its own interpreter lock too, so a worker never holds the
loop's.

The processes start with the first password to hash or check, not with the server, and stop with
it (:meth:`HashPool.aclose`, waiting until they exited). They are started with ``spawn``, a fresh
interpreter: a ``fork`` of the server would keep a copy of every socket and pipe the server has
open at that moment (client connections, the browsers' DevTools pipes) for as long as the worker
lives. ``spawn`` imports the program's main module in each worker, as Python always does; a program
that embeds wamulti must guard its start with ``if __name__ == "__main__":``, as ``wamulti`` does.
Python's ``multiprocessing`` also starts one helper of its own, its resource tracker, which lives
until the server's process exits.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

log = logging.getLogger("wamulti.auth")

NICENESS = 10  # added to the workers' nice value: the loop (0) outweighs each about 9 to 1


class HashPool:
    """Runs picklable functions (``bcrypt.hashpw``, ``bcrypt.checkpw``) in low-priority processes.

    ``workers=0`` runs them in a thread instead: one-off commands (``wamulti create-admin``) that
    hash a single password do not start processes for it."""

    def __init__(self, workers: int, niceness: int = NICENESS) -> None:
        self.workers = workers
        self.niceness = niceness
        self._executor: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._executor is not None

    def _start(self) -> ProcessPoolExecutor:
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=os.nice,
            initargs=(self.niceness,),
        )
        return self._executor

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker. A pool whose worker died (killed by the OOM killer, say) is
        replaced once: the call is tried again in new processes."""
        if self.workers == 0:
            return await asyncio.to_thread(fn, *args)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            executor = self._executor or self._start()
            try:
                return await loop.run_in_executor(executor, fn, *args)
            except BrokenProcessPool:
                if self._executor is executor:
                    self._executor = None
                    executor.shutdown(wait=False, cancel_futures=True)
                if attempt == 2:
                    raise
                log.warning("a password hashing process died; starting new ones")
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop the workers and wait until they exited (a hash in progress finishes first)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        """:meth:`close`, waiting in a thread so that the event loop goes on meanwhile."""
        if self._executor is not None:
            await asyncio.to_thread(self.close)
