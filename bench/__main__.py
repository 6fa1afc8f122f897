"""``python -m bench [--quick] [--out bench/results] [--only rest,health] [--profile rest]``

Runs the figures (the four of docs/architecture.md "Performance", ``media`` and ``failover``;
``--quick`` leaves ``failover`` out unless ``--only`` names it) in one run on this machine and
writes ``bench-<timestamp>.json`` and ``.md`` into the output folder, plus ``latest.json``/``latest.md``.
Exits 1 when a figure failed (its error is in the JSON), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import FIGURES
from bench.common import ROOT, Context, Cores, Processes, raise_nofile
from bench.report import markdown

NOT_QUICK = {"failover"}  # too slow for a smoke run: ten linked browsers and a lease to wait out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure wamulti's performance figures.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of every figure (under 90 s)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="output folder (default bench/results)")
    parser.add_argument("--only", default="", help=f"comma-separated figures to run, of: {', '.join(FIGURES)}")
    parser.add_argument("--profile", default="", metavar="FIGURES",
                        help="run the wamulti servers of these figures under pyinstrument; reports go to the output folder")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (logs, databases) for inspection")
    args = parser.parse_args(argv)
    for option in ("only", "profile"):
        names = [n for n in getattr(args, option).split(",") if n]
        unknown = [n for n in names if n not in FIGURES]
        if unknown:
            parser.error(f"--{option}: unknown figure {', '.join(unknown)} (use {', '.join(FIGURES)})")
        setattr(args, option, names)
    return args


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    try:
        chromium = subprocess.run([shutil.which("chromium") or "/usr/bin/chromium", "--version"], capture_output=True,
                                  text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        chromium = "not found"
    import tornado

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "tornado": tornado.version,
        "chromium": chromium,
    }


async def run_figures(ctx: Context, names: list[str], report: dict[str, Any]) -> None:
    for name in names:
        started = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        try:
            result = await FIGURES[name](ctx)
        except Exception as exc:  # noqa: BLE001 - the other figures still run; the exit code says it
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            ctx.procs.stop_all()
        result["seconds"] = round(time.monotonic() - started, 1)
        report["figures"][name] = result
        print(f"bench: {name} done in {result['seconds']:.0f}s", file=sys.stderr, flush=True)


def write(report: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2)
    table = markdown(report)
    path = out / f"bench-{stamp}.json"
    path.write_text(text)
    (out / f"bench-{stamp}.md").write_text(table)
    (out / "latest.json").write_text(text)
    (out / "latest.md").write_text(table)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.only or [n for n in FIGURES if not (args.quick and n in NOT_QUICK)]
    cores = Cores.plan()
    if cores.load:
        os.sched_setaffinity(0, cores.load)  # this process is the load generator
    raise_nofile()
    os.environ["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # cleanup runs on SIGTERM as on Ctrl-C
    out = Path(args.out).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="wamulti-bench-"))
    procs = Processes(workdir)
    ctx = Context(workdir, procs, cores, args.quick, set(args.profile), out)
    report: dict[str, Any] = {
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": args.quick,
        "machine": machine(),
        "cores": cores.describe(),
        "workdir": str(workdir),
        "figures": {},
    }
    began = time.monotonic()
    interrupted = False
    try:
        asyncio.run(run_figures(ctx, names, report))
    except KeyboardInterrupt:
        interrupted = True
        print("bench: interrupted; stopping every process it started", file=sys.stderr)
    finally:
        procs.stop_all(timeout=20)
        if args.keep:
            print(f"bench: working folder kept at {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["seconds"] = round(time.monotonic() - began, 1)
    path = write(report, out)
    print(markdown(report))
    print(f"bench: wrote {path} and {out / 'latest.md'}", file=sys.stderr)
    if interrupted:
        return 130
    return 1 if any("error" in fig for fig in report["figures"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
