"""A smoke run of `make bench` (`python -m bench --quick`: tiny sizes), so the benchmarks cannot rot.

It checks that every figure ran and wrote sane values, never how fast anything is: timings
belong to `make bench`, not to tests.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANG_LIMIT = 600.0  # seconds after which the quick run is taken for hung (a guard, not a figure)


def run_quick_bench(out: Path) -> tuple[int, str, float]:
    env = dict(os.environ, PYPPETEER_SKIP_CHROMIUM_DOWNLOAD="1")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=HANG_LIMIT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # the bench then stops every process it started
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        pytest.fail(f"python -m bench --quick took more than {HANG_LIMIT:.0f}s:\n{output[-4000:]}")
    return proc.returncode, output, time.monotonic() - started


def positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_distribution(summary: dict[str, Any], unit: str, what: str) -> None:
    p50, p99 = summary[f"p50_{unit}"], summary[f"p99_{unit}"]
    assert summary["samples"] > 0, f"{what}: no samples"
    assert positive(p50) and positive(p99), f"{what}: {summary}"
    assert p99 >= p50, f"{what}: p99 below p50: {summary}"


def leftover_processes(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace")[:200])
    return found


@pytest.mark.browser
def test_quick_bench_measures_every_figure_with_sane_values(tmp_path: Path) -> None:
    out = tmp_path / "results"
    code, output, _ = run_quick_bench(out)
    assert code == 0, f"python -m bench --quick exited {code}:\n{output[-6000:]}"

    report = json.loads((out / "latest.json").read_text())
    assert sorted(out.glob("bench-*.json")) and sorted(out.glob("bench-*.md"))
    assert report["quick"] is True and report["machine"]["cpus"] >= 1
    figures = report["figures"]
    assert set(figures) == {"rest", "health", "fanout", "sessions", "media"}
    for name, figure in figures.items():
        assert "error" not in figure, f"{name}: {figure['error']}"
        assert figure["how"].strip(), f"{name} does not say how it was measured"

    rest = figures["rest"]["results"]
    assert {(r["endpoint"], r["database"]) for r in rest} == {
        (f"GET {path}", db) for path in ("/api/products?limit=50", "/api/user/profile") for db in ("sqlite", "mysql")
    }
    for r in rest:
        assert positive(r["wamulti_rps"]) and positive(r["bare_rps"]), r
        assert 0 < r["ratio"] <= 10, r
        assert r["body_bytes"] > 0, r

    health = figures["health"]
    check_distribution(health["alone"], "ms", "health alone")
    check_distribution(health["under_logins"], "ms", "health under logins")
    assert health["login_load"]["answered_in_all"] > 0 and health["login_load"]["errors"] == 0

    fanout = figures["fanout"]["results"]
    assert [r["sockets"] for r in fanout] == [1, 5]
    for r in fanout:
        check_distribution(r["latency"], "ms", f"fan-out latency, {r['sockets']} sockets")
        check_distribution(r["burst"], "ms", f"fan-out burst, {r['sockets']} sockets")
        assert positive(r["burst"]["events_per_second"]), r
        assert r["burst"]["frames_delivered"] == r["sockets"] * r["burst"]["messages"], r
        assert r["closed"] == 0 and r["missing_frames"] == 0, r
    events = figures["fanout"]["event_scale"]["results"]
    assert [(r["sessions"], r["sockets"]) for r in events] == [(1, 2), (2, 4)]
    for r in events:
        assert r["missing_frames"] == 0 and r["closed"] == 0, r
        assert positive(r["server_cpu_us_per_message"]) and positive(r["browsers_cpu_us_per_message"]), r
        assert 0 <= r["server_cpu_us_per_message_net"] <= r["server_cpu_us_per_message"], r
        check_distribution(r["latency"], "ms", f"event scale, {r['sessions']} sessions")

    sessions = figures["sessions"]
    step = sessions["results"][0]
    assert step["sessions"] == 1 and step["with_qr"] == 1, step
    assert positive(step["pss_mb_per_session"]) and step["pss_mb_per_session"] < 4096, step
    assert positive(step["uss_mb_per_session"]) and step["uss_mb_per_session"] <= step["pss_mb_per_session"], step
    assert step["processes_per_session"] >= 1, step
    check_distribution(sessions["start_to_qr_all"], "s", "start to QR")

    media = figures["media"]["runs"][0]
    assert media["sha256_matched"] is True, media  # the file reached the phone whole
    assert positive(media["upload_s"]) and positive(media["send_s"]), media
    assert media["server"]["peak_mb"] >= media["server"]["baseline_mb"] > 0, media

    table = (out / "latest.md").read_text()
    for heading in ("## 1. REST throughput", "## 2. Event loop health", "## 3. Websocket fan-out", "## 4. WhatsApp sessions",
                    "## 5. Media", "### Scale of work: a `message` event as sessions are added"):
        assert heading in table
    assert "failed" not in table
    assert not leftover_processes(report["workdir"]), "the bench left processes running"
