"""Figure 1: REST throughput against a bare Tornado handler answering the same bytes, and the
scale of work (bench/scale.py: the chat list and a message page with 10^4 and 10^6 messages)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from bench import scale
from bench.common import (
    HOST, Context, WamultiServer, bearer, describe_error, expect, login, mysql_database, register, start_bare,
    start_wamulti,
)
from bench.load import Load, build_request, median

PRODUCTS = "/api/products?limit=50"
PROFILE = "/api/user/profile"

HOW = (
    "Each wamulti server runs as `wamulti serve` (default config.yaml, logging INFO with the access log) in one "
    "process pinned to the server core; the reference is bench/serve_bare.py, one Tornado process on the same core "
    "answering the same path with the exact bytes wamulti answered (checked on every response of both). The load "
    "generator (bench/load.py: {connections} keep-alive HTTP/1.1 connections, closed loop, no pipelining) runs on "
    "the other core. After a {warmup:g} s warm-up of each server, {rounds} rounds of {seconds:g} s alternate "
    "wamulti and bare (ABBA order); req/s is the median of the rounds, the ratio the median of the per-round "
    "ratios. {products} products are seeded; the profile request carries a user's bearer token. Server CPU is "
    "read from /proc: its share of a core during the rounds, and CPU µs per request (the CPU ratio, bare µs over "
    "wamulti µs, is the throughput ratio the server core would give if nothing else ran on it), and the share of "
    "time the server's event loop was ready to run but waited for the core (other work on the machine)."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"connections": 4, "warmup": 0.3, "rounds": 3, "seconds": 0.4, "products": 60}
    return {"connections": 16, "warmup": 2.0, "rounds": 5, "seconds": 3.0, "products": 200}


@contextlib.contextmanager
def database(ctx: Context, backend: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{ctx.workdir / 'rest-sqlite.db'}"
    else:
        with mysql_database() as url:
            yield url


async def seed(server: WamultiServer, products: int) -> dict[str, Any]:
    """``products`` products through the admin API and one ordinary user; returns what is needed."""
    conn = await server.connect()
    try:
        admin = await login(conn, "benchadmin")
        for i in range(products):
            product = {
                "name": f"Product {i:03d}",
                "description": f"A sturdy everyday item number {i}, made to last and easy to clean.",
                "price": f"{(i % 90) + 9}.90",
                "points": i % 50,
                "image": f"https://example.com/images/product-{i:03d}.png",
            }
            expect(await conn.request("POST", "/api/products", body=product, headers=bearer(admin)), 201, "create a product")
        token, _ = await register(conn, "benchuser")
        bodies = {}
        for path, headers in ((PRODUCTS, {}), (PROFILE, bearer(token))):
            first = expect(await conn.request("GET", path, headers=headers), 200, f"GET {path}").body
            again = expect(await conn.request("GET", path, headers=headers), 200, f"GET {path}").body
            if first != again:
                raise RuntimeError(f"GET {path} answers different bytes each time; the comparison needs fixed bytes")
            bodies[path] = first
        return {"token": token, "bodies": bodies}
    finally:
        conn.close()


async def compare(ctx: Context, wamulti: Load, bare: Load, size: dict[str, Any]) -> dict[str, Any]:
    await wamulti.open()
    await bare.open()
    try:
        for load in (wamulti, bare):
            await load.round(size["warmup"])
        rounds = []
        for i in range(size["rounds"]):
            order = (wamulti, bare) if i % 2 == 0 else (bare, wamulti)
            got = {id(load): await load.round(size["seconds"]) for load in order}
            rounds.append({"wamulti": got[id(wamulti)], "bare": got[id(bare)]})
    finally:
        wamulti.close()
        bare.close()
    w_rps = [r["wamulti"].rps for r in rounds]
    b_rps = [r["bare"].rps for r in rounds]
    errors = sum(r["wamulti"].errors + r["bare"].errors for r in rounds)
    if errors or not all(w_rps) or not all(b_rps):
        raise RuntimeError(f"{errors} bad answers during the rounds: {wamulti.first_error or bare.first_error}")
    return {
        "wamulti_rps": round(median(w_rps), 1),
        "bare_rps": round(median(b_rps), 1),
        "ratio": round(median([w / b for w, b in zip(w_rps, b_rps)]), 3),
        "server_cpu_us_per_request": {"wamulti": round(median([r["wamulti"].server_cpu_us for r in rounds]), 1),
                                      "bare": round(median([r["bare"].server_cpu_us for r in rounds]), 1)},
        "cpu_ratio": round(median([r["bare"].server_cpu_us / r["wamulti"].server_cpu_us for r in rounds
                                   if r["wamulti"].server_cpu_us]), 3),
        "server_cpu": {"wamulti": median([r["wamulti"].server_cpu for r in rounds]),
                       "bare": median([r["bare"].server_cpu for r in rounds])},
        "server_waited": {"wamulti": median([r["wamulti"].server_waited for r in rounds]),
                          "bare": median([r["bare"].server_waited for r in rounds])},
        "client_cpu": {"wamulti": median([r["wamulti"].client_cpu for r in rounds]),
                       "bare": median([r["bare"].client_cpu for r in rounds])},
        "rounds": [{"wamulti_rps": round(r["wamulti"].rps, 1), "bare_rps": round(r["bare"].rps, 1)} for r in rounds],
    }


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    results, errors = [], []
    for backend in ("sqlite", "mysql"):
        try:
            results += await measure_backend(ctx, backend, size)
        except Exception as exc:  # noqa: BLE001 - the other backend is still measured
            errors.append(f"{backend}: {describe_error(exc)}")
    out: dict[str, Any] = {"how": HOW.format(**size), "results": results}
    # The scale of work: the chat list and a message page with 10^4 and 10^6 messages stored.
    out["scale"] = await scale.run(ctx)
    if "error" in out["scale"]:
        errors.append(f"scale: {out['scale']['error']}")
    if errors:
        out["error"] = "; ".join(errors)
    return out


async def measure_backend(ctx: Context, backend: str, size: dict[str, Any]) -> list[dict[str, Any]]:
    """Both requests on one backend: a seeded wamulti server and a bare server with its bytes."""
    results = []
    with database(ctx, backend) as url:
        server = start_wamulti(ctx.procs, f"rest-{backend}", url, cores=ctx.cores.server, admin=True,
                               profile_to=ctx.profile_path("rest", backend))
        bare_proc = None
        try:
            seeded = await seed(server, size["products"])
            bodies = seeded["bodies"]
            bare_proc, bare_port = start_bare(ctx.procs, f"bare-{backend}", bodies, cores=ctx.cores.server)
            for path, headers in ((PRODUCTS, {}), (PROFILE, bearer(seeded["token"]))):
                loads = [
                    Load(HOST, port, build_request("GET", path, f"{HOST}:{port}", headers=headers),
                         connections=size["connections"], expect_body=bodies[path], server_pids=[pid])
                    for port, pid in ((server.port, server.pid), (bare_port, bare_proc.pid))
                ]
                measured = await compare(ctx, *loads, size)
                results.append({"endpoint": f"GET {path}", "database": backend, "body_bytes": len(bodies[path]),
                                **measured})
        finally:
            if bare_proc is not None:
                ctx.procs.stop(bare_proc)
            ctx.procs.stop(server.proc)
    return results
