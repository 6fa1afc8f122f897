"""wamulti's benchmarks: the four figures of docs/architecture.md "Performance", ``media`` (a
20 MB upload and send, the server's memory meanwhile) and ``failover`` (sessions moved between
the nodes of a cluster), run by `make bench`.

One module per figure (``rest``, ``health``, ``fanout``, ``sessions``, ``media``, ``failover``), each with an async
``run(ctx) -> dict``; ``load`` is the load generator, ``common`` starts and stops processes.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable


async def _rest(ctx: Any) -> dict:
    from bench import rest

    return await rest.run(ctx)


async def _health(ctx: Any) -> dict:
    from bench import health

    return await health.run(ctx)


async def _fanout(ctx: Any) -> dict:
    from bench import fanout

    return await fanout.run(ctx)


async def _sessions(ctx: Any) -> dict:
    from bench import sessions

    return await sessions.run(ctx)


async def _media(ctx: Any) -> dict:
    from bench import media

    return await media.run(ctx)


async def _failover(ctx: Any) -> dict:
    from bench import failover

    return await failover.run(ctx)


FIGURES: dict[str, Callable[[Any], Awaitable[dict]]] = {
    "rest": _rest,
    "health": _health,
    "fanout": _fanout,
    "sessions": _sessions,
    "media": _media,
    "failover": _failover,
}
