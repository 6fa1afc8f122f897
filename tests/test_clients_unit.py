"""clients/ pieces that need no simulator: finding Chromium, its flags, settings, chat ids,
listeners; and a browser left over on a profile by a previous run."""
from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

import clients
from clients import (
    TRANSITIONS, BrowserNotFound, IllegalTransition, ManagerSettings, SessionError, SessionManager, SessionState,
    chat_id_of, find_chromium,
)
from clients.browser import chromium_args
from clients.session import Session
from tests.support.clients import (
    Harness, Recorder, eventually, main_browsers,
)


def test_the_package_exports_the_contract():
    for name in ("SessionState", "BrowserNotFound", "SessionError", "SessionLimitReached", "NotConnected",
                 "IllegalTransition", "TRANSITIONS", "find_chromium", "ManagerSettings", "SessionManager"):
        assert hasattr(clients, name), name
    assert issubclass(clients.SessionLimitReached, SessionError) and issubclass(clients.NotConnected, SessionError)
    assert issubclass(clients.IllegalTransition, SessionError)
    assert [s.value for s in clients.SessionState] == ["STOPPED", "STARTING", "QR", "CONNECTED", "DISCONNECTED", "FAILED"]
    for name in ("MessageNotFound", "ActionRefused", "MediaExpired", "MediaError", "MediaTooLarge", "ChatNotFound",
                 "SendRefused", "PairingUnavailable"):
        assert issubclass(getattr(clients, name), SessionError), name
    assert not issubclass(clients.MediaTooLarge, clients.MediaError)  # max_bytes is the caller's bound


def test_bridge_refusals_become_their_exceptions():
    from pyppeteer.errors import ElementHandleError

    from clients.session import bridge_error

    def thrown(message: str) -> Exception:  # what pyppeteer raises for an Error thrown in the page
        return ElementHandleError(f"Evaluation failed: Error: {message}\n    at Object.edit (<anonymous>:1:2)")

    for code, kind in (("not_found", clients.MessageNotFound), ("refused", clients.ActionRefused),
                       ("expired", clients.MediaExpired), ("media", clients.MediaError),
                       ("too_large", clients.MediaTooLarge), ("not_connected", clients.NotConnected)):
        error = bridge_error("edit", thrown(f"WAD:{code}: because of {code}"))
        assert type(error) is kind and str(error) == f"because of {code}"
    for code, kind in (("no_chat", clients.ChatNotFound), ("no_qr", clients.PairingUnavailable),
                       ("module", SessionError)):
        error = bridge_error("groupInfo", thrown(f"WAD:{code}: because of {code}"))
        assert type(error) is kind and str(error) == f"because of {code}"
    other = bridge_error("edit", thrown("TypeError: x is undefined"))
    assert type(other) is SessionError and str(other) == "edit failed: TypeError: x is undefined"
    assert type(bridge_error("edit", thrown("WAD:unheard_of: why"))) is SessionError
    locked = bridge_error("sendText", thrown("WAD:send_refused: reachout_timelock until 1760000000: WhatsApp refused it"))
    assert type(locked) is clients.SendRefused and str(locked) == "WhatsApp refused it"
    assert (locked.reason, locked.until) == ("reachout_timelock", 1760000000)
    coded = bridge_error("sendText", thrown("WAD:send_refused: 463: refused"))
    assert (coded.reason, coded.until, str(coded)) == ("463", None, "refused")


def test_clients_imports_nothing_of_ours():
    root = Path(clients.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        for other in ("server", "plugins", "tests"):
            assert f"from {other}" not in text and f"import {other}" not in text, (path, other)
    for path in root.iterdir():
        if path.suffix in (".py", ".js"):
            text = path.read_text()
            assert "__sim" not in text and "fakewa" not in text.lower(), path
    modules = [p.name for p in root.iterdir() if p.suffix in (".py", ".js") and "WAWeb" in p.read_text()]
    assert modules == ["bridge.js"]  # the only file that names WhatsApp's modules


def test_find_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert os.access(find_chromium(), os.X_OK)
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium(str(fake)) == str(fake)
    with pytest.raises(BrowserNotFound, match="install Debian's `chromium` package or set whatsapp.chromium"):
        find_chromium(str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BrowserNotFound, match="Chromium not found"):
        find_chromium()


def test_chromium_flags(tmp_path: Path):
    args = chromium_args(tmp_path / "p", headless=True, user_agent="UA/1",
                         extra_args=("--lang=de", "--enable-features=Foo", "--disable-features=Bar"))
    assert "--enable-automation" not in args
    assert "--disable-blink-features=AutomationControlled" in args and "--headless=new" in args
    assert f"--user-data-dir={tmp_path / 'p'}" in args and "--user-agent=UA/1" in args
    assert ("--no-sandbox" in args) == (os.geteuid() == 0)
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--disable-gpu", "--lang=de"):
        assert flag in args
    [enable] = [a for a in args if a.startswith("--enable-features=")]
    [disable] = [a for a in args if a.startswith("--disable-features=")]
    assert "Foo" in enable.split("=")[1].split(",") and "Bar" in disable.split("=")[1].split(",")
    assert "--headless=new" not in chromium_args(tmp_path, headless=False, user_agent="x")
    assert os.environ["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] == "1"
    # Driven over a pipe: no DevTools port, not even one asked for in the settings.
    assert "--remote-debugging-pipe" in args and not [a for a in args if a.startswith("--remote-debugging-port")]
    for flag in ("--remote-debugging-port=9222", "--remote-debugging-address=0.0.0.0"):
        with pytest.raises(ValueError, match="may not set --remote-debugging-"):
            ManagerSettings(profiles_dir=tmp_path, extra_args=("--lang=de", flag))


def test_the_transition_table_covers_every_state_and_reaches_each_from_stopped():
    assert set(TRANSITIONS) == set(SessionState)
    seen, todo = {SessionState.STOPPED}, [SessionState.STOPPED]
    while todo:
        for state in TRANSITIONS[todo.pop()]:
            if state not in seen:
                seen.add(state)
                todo.append(state)
    assert seen == set(SessionState)
    assert all(SessionState.STOPPED in TRANSITIONS[s] for s in SessionState if s is not SessionState.STOPPED)
    assert all(SessionState.FAILED in TRANSITIONS[s] for s in SessionState if s not in (SessionState.STOPPED, SessionState.FAILED))


async def test_a_move_outside_the_table_raises_and_changes_nothing(tmp_path: Path):
    manager = SessionManager(ManagerSettings(profiles_dir=tmp_path))
    events = Recorder()
    manager.add_listener(events)
    session = Session("k1", manager.settings, manager)
    path = [SessionState.STARTING, SessionState.QR, SessionState.CONNECTED, SessionState.DISCONNECTED,
            SessionState.FAILED, SessionState.STOPPED]
    for state in path:  # every move along a real life is allowed
        session.set_state(state, error="boom" if state is SessionState.FAILED else None)
    session.set_state(SessionState.STOPPED, error="same state, new error")  # staying is always allowed
    await eventually(lambda: len(events.of("k1", "state")) == len(path) + 1, 5, "the state events")
    assert events.states("k1") == [s.value for s in path] + ["STOPPED"]

    since = session.since
    for old, new in [(SessionState.STOPPED, SessionState.CONNECTED), (SessionState.STOPPED, SessionState.FAILED)]:
        before = session.status()
        with pytest.raises(IllegalTransition) as raised:
            session.set_state(new, phone="79990000001", error=None, qr="2@ref")
        message = str(raised.value)
        assert "k1" in message and old.value in message and new.value in message, message
        assert (raised.value.key, raised.value.old, raised.value.new) == ("k1", old, new)
        assert session.status() == before and session.state is old and session.since == since
    # From every state, each state outside its entry is refused.
    for old in SessionState:
        for new in set(SessionState) - TRANSITIONS[old] - {old}:
            session.state = old
            with pytest.raises(IllegalTransition):
                session.set_state(new)
            assert session.state is old
    await asyncio.sleep(0.1)
    assert len(events.of("k1", "state")) == len(path) + 1  # no event for a refused move
    await manager.close()


def test_chat_ids():
    assert chat_id_of("79991234567") == "79991234567@c.us"
    assert chat_id_of("+7 999 123-45-67") == "79991234567@c.us"
    assert chat_id_of("123456789-1600000000@g.us") == "123456789-1600000000@g.us"
    assert chat_id_of("123456789012345@lid") == "123456789012345@lid"
    with pytest.raises(SessionError):
        chat_id_of("not a number")
    assert clients.phone_digits("+7 (999) 123-45-67") == clients.phone_digits("79991234567@c.us") == "79991234567"
    for bad in ("12345", "79991234567@lid", "+7 999 abc", "1" * 16):
        with pytest.raises(clients.InvalidChatId):
            clients.phone_digits(bad)


def test_settings_and_unknown_sessions(tmp_path: Path):
    settings = ManagerSettings(profiles_dir=str(tmp_path), restart_backoff=[1, 2])
    assert settings.profiles_dir == tmp_path and settings.restart_backoff == (1.0, 2.0)
    with pytest.raises(ValueError):
        ManagerSettings(profiles_dir=tmp_path, max_sessions=0)
    for timeout in (0, -1.0):
        with pytest.raises(ValueError, match="link_timeout"):
            ManagerSettings(profiles_dir=tmp_path, link_timeout=timeout)
    assert ManagerSettings(profiles_dir=tmp_path, link_timeout=None).link_timeout is None
    manager = SessionManager(settings)
    status = manager.status("42")
    assert status["state"] == "STOPPED" and set(status) == {
        "state", "phone", "lid", "pushname", "since", "error", "qr", "lastActivity", "limits"}
    assert status["lid"] is None and status["limits"] is None
    assert manager.statuses() == {} and manager.live_count() == 0 and manager.browser_pids("42") == []
    manager.touch("42")  # unknown: nothing to do


async def test_invalid_keys_and_a_missing_browser_are_refused(tmp_path: Path):
    manager = SessionManager(ManagerSettings(profiles_dir=tmp_path, chromium=str(tmp_path / "no-chromium")))
    for key in ("..", "a/b", ""):
        with pytest.raises(ValueError):
            await manager.start(key)
    with pytest.raises(clients.PairingUnavailable, match="STOPPED"):
        await manager.request_pairing_code("1", "79990000001")
    for call in (manager.contacts("1"), manager.check_number("1", "79990000001"), manager.groups("1"),
                 manager.group_info("1", "120363000000000001@g.us"), manager.profile_picture("1", "79990000001"),
                 manager.create_group("1", "g", ["79990000002"]),
                 manager.group_participants("1", "120363000000000001@g.us", "add", ["79990000002"])):
        with pytest.raises(clients.NotConnected):
            await call
    with pytest.raises(BrowserNotFound):
        await manager.start("1")
    assert manager.status("1")["state"] == "STOPPED" and manager.live_count() == 0
    await manager.close()


async def test_listeners_get_events_in_order_and_a_failing_one_breaks_nothing(tmp_path: Path):
    manager = SessionManager(ManagerSettings(profiles_dir=tmp_path))
    got: list[tuple[str, str, int]] = []

    def broken(key: str, event: str, data: dict) -> None:
        raise RuntimeError("listener bug")

    async def slow(key: str, event: str, data: dict) -> None:
        await asyncio.sleep(0.01 if data["n"] % 2 else 0)
        got.append((key, event, data["n"]))

    removed: list = []
    manager.add_listener(broken)
    manager.add_listener(slow)
    manager.add_listener(removed.append)
    manager.remove_listener(removed.append)
    for n in range(6):
        manager.emit("a" if n < 3 else "b", "ping", {"n": n})
    await eventually(lambda: len(got) == 6, 5, "every event")
    assert [n for k, _, n in got if k == "a"] == [0, 1, 2] and [n for k, _, n in got if k == "b"] == [3, 4, 5]
    assert removed == []
    await manager.close()


@pytest.mark.browser
@pytest.mark.all_generations
async def test_a_browser_left_on_the_profile_by_a_previous_run_is_replaced(harness: Harness):
    """A server killed hard leaves its Chromium running with the profile locked; a new browser on
    that profile would only hand its URL to the old one and exit."""
    profile = harness.profile("1")
    profile.mkdir(parents=True)
    leftover = subprocess.Popen(
        [find_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-crashpad-for-testing",
         "--enable-features=NetworkServiceInProcess2", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # A browser of a version that still opened a DevTools port: its port file goes too.
        await eventually(lambda: (profile / "SingletonLock").is_symlink() and (profile / "DevToolsActivePort").exists(),
                         20, "the leftover browser's lock and port file")
        await harness.manager.start("1")
        await harness.events.wait("1", "qr")
        assert leftover.poll() is not None  # killed
        assert not (profile / "DevToolsActivePort").exists()
        [main] = main_browsers(profile)
        assert main in harness.manager.browser_pids("1")
    finally:
        if leftover.poll() is None:
            os.killpg(leftover.pid, 9)
        leftover.wait()
