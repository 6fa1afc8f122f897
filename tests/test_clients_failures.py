"""What goes wrong: crashed and frozen browsers, states WhatsApp imposes, limits, concurrent
commands, idle sessions and shutdown. Real Chromium against the simulator."""
from __future__ import annotations

import asyncio
import os
import random
import signal
import socket

import pytest

from clients import SessionLimitReached
from tests.support.clients import (
    ALICE, BOB, Harness, browsers_of, eventually, main_browsers, zombies_of,
)

def pgid_of(pids: list[int]) -> int:
    [pgid] = {os.getpgid(pid) for pid in pids}
    return pgid


pytestmark = [pytest.mark.browser, pytest.mark.all_generations]


async def test_killed_browser_fails_then_restarts_connected(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE, "Alice")
    pids = manager.browser_pids("1")
    assert len(pids) >= 3 and set(pids) <= set(browsers_of(harness.profiles))
    pgid = pgid_of(pids)
    mark = events.mark()

    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    failed = await events.state("1", "FAILED", since=mark)
    assert failed["error"] and ("signal 9" in failed["error"] or "crash" in failed["error"] or "connection" in failed["error"])
    connected = await events.state("1", "CONNECTED", since=mark)
    assert connected["phone"] == ALICE and connected["error"] is None
    assert events.states("1", mark)[-2:] == ["STARTING", "CONNECTED"]  # the same login, no QR
    new_pids = manager.browser_pids("1")
    assert new_pids and not set(new_pids) & set(pids)
    # Every process of the killed browser is gone and reaped: no zombies left behind.
    assert await eventually(lambda: not zombies_of({pgid}) and not set(browsers_of(harness.profiles)) & set(pids),
                            what="the killed browser's processes to be reaped")

    sent = await manager.send_text("1", BOB, "after the crash")
    await events.wait("1", "ack", lambda a: a["id"] == sent["id"] and a["ack"] == 2, since=mark)


async def test_frozen_browser_is_caught_by_the_heartbeat(make_harness):
    harness = make_harness(heartbeat_interval=0.5, heartbeat_timeout=1.0)
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    pids = manager.browser_pids("1")
    mark = events.mark()

    for pid in pids:  # alive but not answering
        os.kill(pid, signal.SIGSTOP)
    failed = await events.state("1", "FAILED", since=mark)
    assert "did not answer" in failed["error"]
    await events.state("1", "CONNECTED", since=mark)
    assert not set(browsers_of(harness.profiles)) & set(pids)


async def test_tos_block_fails_with_the_reason_and_is_not_restarted(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    mark = events.mark()

    await harness.control.state(ALICE, "TOS_BLOCK")
    failed = await events.state("1", "FAILED", since=mark)
    assert failed["error"].startswith("TOS_BLOCK: ") and "blocked" in failed["error"]
    await asyncio.sleep(2 * manager.settings.restart_backoff[1])
    assert events.states("1", mark) == ["FAILED"]
    assert manager.status("1")["state"] == "FAILED" and manager.statuses()["1"]["error"] == failed["error"]
    assert manager.browser_pids("1") == [] and not browsers_of(harness.profiles)

    # A start by hand tries again (and WhatsApp still says no).
    mark = events.mark()
    assert (await manager.start("1"))["state"] == "STARTING"
    assert (await events.state("1", "FAILED", since=mark))["error"].startswith("TOS_BLOCK")


async def test_timeout_disconnects_then_reconnects_by_itself(harness: Harness):
    events = harness.events
    await harness.link("1", ALICE)
    pids = harness.manager.browser_pids("1")
    mark = events.mark()

    await harness.control.state(ALICE, "TIMEOUT")
    await events.state("1", "DISCONNECTED", since=mark)
    await events.state("1", "CONNECTED", since=mark)
    assert events.states("1", mark) == ["DISCONNECTED", "CONNECTED"]
    assert harness.manager.browser_pids("1") == pids  # the same browser all along


async def test_conflict_is_taken_over(harness: Harness):
    events = harness.events
    await harness.link("1", ALICE)
    mark = events.mark()

    assert await harness.control.state(ALICE, "CONFLICT") == 1
    # A page left in CONFLICT never reconnects by itself: this message arrives only after takeover().
    await harness.control.incoming(ALICE, BOB, "after the takeover")
    await events.wait("1", "message", lambda m: m["body"] == "after the takeover", since=mark)
    assert harness.manager.status("1")["state"] == "CONNECTED"
    assert "FAILED" not in events.states("1", mark) and "QR" not in events.states("1", mark)


async def test_session_limit(make_harness):
    harness = make_harness(max_sessions=1)
    manager = harness.manager
    await manager.start("1")
    with pytest.raises(SessionLimitReached):
        await manager.start("2")
    assert (await manager.start("1"))["state"] in ("STARTING", "QR")  # a live session: no-op
    assert manager.status("2")["state"] == "STOPPED" and manager.live_count() == 1
    await manager.stop("1")
    assert (await manager.start("2"))["state"] == "STARTING"
    await harness.events.wait("2", "qr")
    assert len(main_browsers(harness.profile("2"))) == 1 and not main_browsers(harness.profile("1"))


async def test_browsers_launch_one_at_a_time_with_max_concurrent_starts_1(make_harness):
    harness = make_harness(max_concurrent_starts=1)
    manager, events = harness.manager, harness.events
    keys = ["a", "b", "c"]
    await asyncio.gather(*(manager.start(k) for k in keys))
    assert all(manager.status(k)["state"] == "STARTING" for k in keys)
    most = 0
    while not all(events.of(k, "qr") for k in keys):
        launching = [k for k in keys if not events.of(k, "qr") and main_browsers(harness.profile(k))]
        most = max(most, len(launching))
        await asyncio.sleep(0.1)
    assert most == 1
    assert all(len(main_browsers(harness.profile(k))) == 1 for k in keys)


async def test_concurrent_commands_on_one_key_end_consistent(harness: Harness):
    manager = harness.manager
    await harness.link("1", ALICE)
    rng = random.Random(7)
    commands = [manager.start, manager.stop, manager.restart, manager.start, manager.restart, manager.stop,
                manager.start, manager.restart, manager.logout, manager.start, manager.restart, manager.start]
    rng.shuffle(commands)

    async def run(command, delay):
        await asyncio.sleep(delay)
        return await command("1")

    results = await asyncio.gather(*(run(c, rng.random() * 0.5) for c in commands), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]
    state = manager.status("1")["state"]
    if state != "STOPPED":  # let the last start settle into a state with a browser
        await eventually(lambda: manager.status("1")["state"] in ("QR", "CONNECTED"), 20, "the session to settle")
    await asyncio.sleep(0.5)
    mains = main_browsers(harness.profile("1"))
    expected = 0 if manager.status("1")["state"] == "STOPPED" else 1
    assert len(mains) == expected, (manager.status("1"), mains)
    assert set(manager.browser_pids("1")) == set(browsers_of(harness.profiles))


async def test_idle_session_is_stopped_and_comes_back_on_start(make_harness):
    harness = make_harness(idle_timeout=1.5)
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    mark = events.mark()

    stopped = await events.state("1", "STOPPED", since=mark, timeout=10)
    assert stopped["phone"] == ALICE and not browsers_of(harness.profiles)
    assert harness.profile("1").is_dir()

    mark = events.mark()
    await manager.start("1")
    await events.state("1", "CONNECTED", since=mark)
    assert events.of("1", "qr", mark) == []
    # Activity keeps it alive past the timeout.
    for _ in range(4):
        await asyncio.sleep(0.5)
        manager.touch("1")
    assert manager.status("1")["state"] == "CONNECTED"


async def test_close_stops_every_browser(make_harness):
    harness = make_harness()
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    await manager.start("2")
    await events.wait("2", "qr")
    await manager.start("3")  # still launching when close() comes
    pgids = {pgid_of(manager.browser_pids("1")), pgid_of(manager.browser_pids("2"))}
    assert len(main_browsers(harness.profile("1"))) == 1

    await manager.close()
    assert not browsers_of(harness.profiles)
    assert not zombies_of(pgids)
    assert manager.statuses() == {} and manager.live_count() == 0
    assert [events.states(k)[-1] for k in ("1", "2", "3")] == ["STOPPED"] * 3


@pytest.mark.no_page
async def test_a_page_that_never_gets_ready_fails_and_restarts_give_up(make_harness, fakewa):
    # A page that is not WhatsApp Web: no Debug.VERSION ever appears.
    harness = make_harness(url=fakewa.url + "__sim/devices", ready_timeout=1.0, max_restarts=1, restart_backoff=(0.1, 0.2))
    manager, events = harness.manager, harness.events
    await manager.start("1")
    await eventually(lambda: events.states("1").count("FAILED") == 2, 20, "two failures")
    await asyncio.sleep(0.5)
    assert events.states("1") == ["STARTING", "FAILED"] * 2
    failures = [d["error"] for d in events.of("1", "state") if d["state"] == "FAILED"]
    assert all("Debug.VERSION" in e for e in failures) and "no automatic restart" in failures[-1], failures
    assert manager.live_count() == 1  # FAILED still counts: it is not STOPPED
    await eventually(lambda: not browsers_of(harness.profiles), 10, "the failed browser to close")

    # A start by hand starts counting again.
    await manager.start("1")
    await eventually(lambda: events.states("1").count("FAILED") == 4, 20, "two more failures")
    await asyncio.sleep(0.5)
    assert events.states("1") == ["STARTING", "FAILED"] * 4


@pytest.mark.no_page
async def test_an_unreachable_site_fails_with_the_network_error(make_harness):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    harness = make_harness(url=f"http://127.0.0.1:{port}/", max_restarts=0)
    await harness.manager.start("1")
    failed = await harness.events.state("1", "FAILED")
    assert "ERR_CONNECTION_REFUSED" in failed["error"]
    await eventually(lambda: not browsers_of(harness.profiles), 10, "the browser to close")
