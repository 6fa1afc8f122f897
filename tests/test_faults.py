"""Faults: the database going away, browsers and servers killed, events repeated or reordered,
and storms of concurrent session commands. Every wait is bounded; nothing is mocked."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from server.app import build_app
from tests.support.server import DEFAULT_CONFIG, Server, bearer, test_config
from tests.support.faults import (
    ServerProcess, browser_mains, descends_from, kill_profile, profile_processes, wait_until, write_config,
)
from tests.support.server import assert_error
from tests.support.ws import connect
from tests.support.whatsapp import link, wa_config, wait_for, wait_state


async def start_server(tmp_path: Path, db_url: str, **overrides: Any) -> Server:
    app = build_app(DEFAULT_CONFIG, overrides=test_config(tmp_path, db_url, **overrides), environ={}, entry_points=False)
    await app.start(port=0, host="127.0.0.1")
    return Server(app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30))


async def close_server(server: Server) -> None:
    await server.client.aclose()
    await server.app.stop()


# -- the database stops and comes back ---------------------------------------------------------------
async def test_database_down_answers_503_then_recovers_without_a_restart(tmp_path, own_mariadb):
    server = await start_server(tmp_path, own_mariadb.url("wamulti"), database={"url": own_mariadb.url("wamulti"), "connect_timeout": 1.0, "query_timeout": 2.0})
    try:
        token, user = await server.register("survivor")
        auth = bearer(token)
        # Fill the pool with idle connections: each will be broken once the server goes away.
        answers = await asyncio.gather(*(server.client.get("/api/user/profile", headers=auth) for _ in range(20)))
        assert {a.status_code for a in answers} == {200}
        assert server.app.db.pool_info()["size"] > 1

        own_mariadb.stop()
        for method, path, body, headers in (
            ("GET", "/api/products", None, {}),
            ("GET", "/api/user/profile", None, auth),
            ("POST", "/api/auth/login", {"username": "survivor", "password": "correct horse battery"}, {}),
            ("POST", "/api/auth/register", {"username": "newcomer", "password": "correct horse battery"}, {}),
            ("GET", "/api/products", None, {}),
        ):
            started = time.monotonic()
            response = await server.client.request(method, path, json=body, headers=headers)
            assert_error(response, 503, "unavailable")
            assert response.headers["X-Request-Id"]
            assert time.monotonic() - started < 5, f"{method} {path} took {time.monotonic() - started:.1f}s to fail"
        down = await server.client.get("/api/db-status")
        assert down.status_code == 503
        assert down.json()["status"] == "error" and down.json()["backend"] == "mysql"
        assert (await server.client.get("/api/health")).status_code == 200  # the process itself is fine

        own_mariadb.start()
        deadline = time.monotonic() + 20
        while (await server.client.get("/api/db-status")).status_code != 200:
            assert time.monotonic() < deadline, "the pool never reconnected"
            await asyncio.sleep(0.2)
        # From the first success on, nothing fails: no broken connection is left in the pool.
        answers = await asyncio.gather(*(server.client.get("/api/user/profile", headers=auth) for _ in range(30)))
        assert [a.status_code for a in answers] == [200] * 30, [a.text for a in answers if a.status_code != 200][:3]
        assert answers[0].json()["id"] == user["id"]
        up = (await server.client.get("/api/db-status")).json()
        assert up["status"] == "ok" and up["backend"] == "mysql"
        registered = await server.client.post("/api/auth/register", json={"username": "newcomer", "password": "correct horse battery"})
        assert registered.status_code == 201, registered.text  # the refused write was not half-done
    finally:
        await close_server(server)


async def test_a_database_that_hangs_answers_503_in_bounded_time_then_recovers(tmp_path, own_mariadb):
    """A frozen server (SIGSTOP) keeps its sockets open and answers nothing, like a host cut off."""
    url = own_mariadb.url("wamulti")
    server = await start_server(tmp_path, url, database={"url": url, "connect_timeout": 1.0, "query_timeout": 2.0})
    try:
        token, _ = await server.register("patient")
        auth = bearer(token)
        assert (await server.client.get("/api/user/profile", headers=auth)).status_code == 200
        own_mariadb.freeze()
        try:
            for path, headers in (("/api/products", {}), ("/api/user/profile", auth), ("/api/products", {})):
                started = time.monotonic()
                response = await asyncio.wait_for(server.client.get(path, headers=headers), 15)
                assert_error(response, 503, "unavailable")
                assert time.monotonic() - started < 6, f"GET {path} took {time.monotonic() - started:.1f}s to fail"
            down = await asyncio.wait_for(server.client.get("/api/db-status"), 15)
            assert down.status_code == 503 and down.json()["status"] == "error"
        finally:
            own_mariadb.thaw()
        deadline = time.monotonic() + 20
        while (await server.client.get("/api/db-status")).status_code != 200:
            assert time.monotonic() < deadline, "the pool never recovered"
            await asyncio.sleep(0.2)
        answers = await asyncio.gather(*(server.client.get("/api/user/profile", headers=auth) for _ in range(20)))
        assert [a.status_code for a in answers] == [200] * 20
    finally:
        await close_server(server)


# -- duplicated and reordered WhatsApp events -----------------------------------------------------------
def wa_msg(n: int, *, chat: str = "79990000777@c.us", ack: int = 0, from_me: bool = False, t: int = 1_700_000_000, body: str | None = None) -> dict:
    """A message as clients/bridge.js reports it."""
    me, other = "79990000700@c.us", chat
    return {
        "id": f"{'true' if from_me else 'false'}_{chat}_ID{n:04d}",
        "chatId": chat,
        "from": me if from_me else other,
        "to": other if from_me else me,
        "body": body if body is not None else f"body {n}",
        "type": "chat",
        "fromMe": from_me,
        "ack": ack,
        "timestamp": t + n,
    }


async def stored_messages(server: Server, user_id: int) -> dict[str, tuple[str, int]]:
    rows = await server.app.db.fetch_all("SELECT wa_id, body, ack FROM messages WHERE user_id = ? ORDER BY id", (user_id,))
    ids = [r["wa_id"] for r in rows]
    assert len(ids) == len(set(ids)), f"duplicated rows: {ids}"
    return {r["wa_id"]: (r["body"], int(r["ack"])) for r in rows}


async def test_duplicated_and_reordered_events_leave_exact_rows_and_one_frame_each(make_server, clients):
    server = await make_server()
    token, user = await server.register("replayed")
    uid = user["id"]
    service = server.app.state["whatsapp"]
    socket = await connect(server, token)
    clients.append(socket)
    await socket.next_of("hello")

    async def feed(kind: str, data: dict) -> None:
        await service.ingest(str(uid), kind, data)  # the listener the session manager calls for each event

    m = {n: wa_msg(n, from_me=n % 2 == 1) for n in range(1, 9)}
    # Acks out of order: 3 before 2 never lowers it.
    await feed("message", m[1])
    for ack in (1, 3, 2):
        await feed("ack", {"id": m[1]["id"], "chatId": m[1]["chatId"], "ack": ack})
    # The ack arrives before its message (whose event still says ack 0).
    await feed("ack", {"id": m[3]["id"], "chatId": m[3]["chatId"], "ack": 3})
    await feed("message", m[3])
    # The same message twice, and a stale replay of another after its ack rose.
    await feed("message", m[2])
    await feed("message", m[2])
    await feed("message", {**m[5], "ack": 2})
    await feed("message", {**m[5], "ack": 1})
    # A sync holding what is stored already (older acks) and two new ones; then the same sync again.
    sync = {"chats": [{"id": m[1]["chatId"], "name": "Someone", "isGroup": False, "unreadCount": 1, "timestamp": m[7]["timestamp"]}],
            "messages": [{**m[1], "ack": 1}, m[2], {**m[3], "ack": 0}, {**m[5], "ack": 0}, m[6], m[7]]}
    await feed("sync", sync)
    await feed("sync", sync)
    # A message older than the chat's newest arrives last; then a live replay of a synced one.
    await feed("message", m[4])
    await feed("message", m[7])

    rows = await stored_messages(server, uid)
    assert rows == {
        m[1]["id"]: ("body 1", 3),
        m[3]["id"]: ("body 3", 3),
        m[2]["id"]: ("body 2", 0),
        m[5]["id"]: ("body 5", 2),
        m[6]["id"]: ("body 6", 0),
        m[7]["id"]: ("body 7", 0),
        m[4]["id"]: ("body 4", 0),
    }
    chats = (await server.client.get(f"/api/whatsapp/chats/{uid}", headers=bearer(token))).json()["items"]
    assert len(chats) == 1 and chats[0]["lastMessage"]["id"] == m[7]["id"]  # the newest, not the last to arrive
    listed = (await server.client.get(f"/api/whatsapp/chats/{uid}/{m[1]['chatId']}/messages", headers=bearer(token))).json()
    assert [item["id"] for item in listed["items"]] == [m[n]["id"] for n in (7, 6, 5, 4, 3, 2, 1)]
    assert listed["items"][4]["ack"] == 3

    # The socket saw each message once, whatever the number of times WhatsApp reported it.
    socket.send({"type": "ping", "ref": "end"})
    frames = []
    while (frame := await socket.next()) and frame["type"] != "reply":
        frames.append(frame)
    seen = [f["data"]["id"] for f in frames if f["type"] == "message"]
    assert sorted(seen) == sorted(m[n]["id"] for n in (1, 2, 3, 4, 5, 6, 7)), seen


async def test_a_late_copy_of_a_message_never_undoes_its_edit_or_its_revoke(make_server):
    """An edit or a delete for everyone, then a copy of the message from before it (a late event,
    a sync after a restart): the stored text stays the edited one, and a deleted one stays empty."""
    server = await make_server()
    _, user = await server.register("latecopy")
    uid = user["id"]
    ingest = server.app.state["whatsapp"].ingest
    edited, revoked = wa_msg(1, from_me=True), wa_msg(2)
    for msg in (edited, revoked):
        await ingest(str(uid), "message", msg)
    await ingest(str(uid), "edit", {"id": edited["id"], "chatId": edited["chatId"], "body": "body 1, edited"})
    await ingest(str(uid), "revoke", {"id": revoked["id"], "chatId": revoked["chatId"]})
    await ingest(str(uid), "message", {**edited, "ack": 2})  # before the edit, though its ack rose
    await ingest(str(uid), "sync", {"chats": [], "messages": [edited, revoked]})
    await ingest(str(uid), "message", revoked)
    rows = {r["wa_id"]: r for r in await server.app.db.fetch_all(
        "SELECT wa_id, body, type, edited, revoked, ack FROM messages WHERE user_id = ?", (uid,))}
    assert (rows[edited["id"]]["body"], rows[edited["id"]]["edited"], rows[edited["id"]]["ack"]) == ("body 1, edited", 1, 2)
    assert (rows[revoked["id"]]["body"], rows[revoked["id"]]["type"], rows[revoked["id"]]["revoked"]) == ("", "revoked", 1)
    # A copy that has seen the edit (an edited message in a sync) still brings its text.
    await ingest(str(uid), "message", {**edited, "body": "body 1, edited twice", "edited": True})
    assert await server.app.db.fetch_value("SELECT body FROM messages WHERE wa_id = ?", (edited["id"],)) == "body 1, edited twice"


async def test_the_same_reaction_stored_at_once_from_several_sides_makes_one_frame(make_server, clients):
    """A reaction reported several times at once (the REST call's answer, the page's event, a
    replay) with the webhooks plugin's outbox on, so that each is a transaction of its own: each
    waits for the one before and sees it, so one row and one ``message.reaction`` frame."""
    server = await make_server()
    assert server.app.plugins.hook.whatsapp_event_stored.get_hookimpls(), "the outbox makes each event a transaction"
    token, user = await server.register("reactedtwice")
    uid = user["id"]
    ingest = server.app.state["whatsapp"].ingest
    socket = await connect(server, token)
    clients.append(socket)
    await socket.next_of("hello")
    msg = wa_msg(1)
    await ingest(str(uid), "message", msg)
    reaction = {"msgId": msg["id"], "chatId": msg["chatId"], "sender": "79990000700@c.us", "emoji": "👍",
                "fromMe": True, "timestamp": msg["timestamp"] + 5}
    await asyncio.gather(*(ingest(str(uid), "reaction", dict(reaction)) for _ in range(6)))

    socket.send({"type": "ping", "ref": "end"})
    frames = []
    while (frame := await socket.next()) and frame["type"] != "reply":
        frames.append(frame)
    assert [f["data"]["emoji"] for f in frames if f["type"] == "message.reaction"] == ["👍"], frames
    assert await server.app.db.fetch_value(
        "SELECT COUNT(*) FROM message_reactions WHERE user_id = ? AND message_id = ?", (uid, msg["id"])) == 1


async def test_messages_during_restarts_are_stored_once_each_and_reach_the_socket_once(make_server, fakewa, clients):
    """Real events: messages arrive while the session restarts again and again, so WhatsApp
    replays them in syncs and as late messages; the rows and the frames stay exact."""
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("restless")
    uid, phone = user["id"], "79990000801"
    await link(server, fakewa, token, uid, phone, "Restless")
    socket = await connect(server, token)
    clients.append(socket)
    await socket.next_of("hello")

    senders = ["79990000802", "79990000803"]

    async def incoming() -> None:
        for n in range(24):
            await fakewa.incoming(phone, senders[n % 2], f"in {n}")
            await asyncio.sleep(0.05)

    async def restarts() -> None:
        for _ in range(3):
            await asyncio.sleep(0.25)
            response = await server.client.post(f"/api/whatsapp/restart/{uid}", headers=bearer(token))
            assert response.status_code == 202, response.text
            await wait_state(server, token, uid, "CONNECTED")

    sent_ok: list[str] = []

    async def sends() -> None:
        for n in range(12):
            response = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": senders[n % 2], "message": f"out {n}"})
            assert response.status_code in (201, 409), response.text  # 409 while the session is not CONNECTED
            if response.status_code == 201:
                sent_ok.append(response.json()["id"])
            await asyncio.sleep(0.1)

    await asyncio.gather(incoming(), restarts(), sends())
    await wait_state(server, token, uid, "CONNECTED")
    at_phone = await fakewa.messages(phone)
    expected = {m["id"]["_serialized"]: m for m in at_phone}
    assert len(expected) == 24 + len(sent_ok) and set(sent_ok) <= set(expected)

    async def stored_matches() -> bool:
        rows = await stored_messages(server, uid)
        return set(rows) == set(expected) and all(rows[k][1] == expected[k]["ack"] for k in expected)

    await wait_for(stored_matches, timeout=20, message="rows equal to what the phone has, with the same acks")
    rows = await stored_messages(server, uid)
    assert {k: v[0] for k, v in rows.items()} == {k: m["body"] for k, m in expected.items()}

    socket.send({"type": "ping", "ref": "end"})
    seen = []
    while (frame := await socket.next()) and not (frame["type"] == "reply" and frame["data"]["ref"] == "end"):
        if frame["type"] == "message":
            seen.append(frame["data"]["id"])
    assert sorted(seen) == sorted(expected), f"{len(seen)} frames for {len(expected)} messages"


# -- Chromium killed under a connected session ----------------------------------------------------------
async def test_a_killed_browser_or_renderer_fails_then_reconnects_without_a_qr(make_server, fakewa, tmp_path, clients):
    # An operator's flags (whatsapp.chromium_args) reach the browser, features merged with ours.
    server = await make_server(**wa_config(fakewa, chromium_args=["--renderer-process-limit=4",
                                                                  "--disable-features=Translate"]))
    token, user = await server.register("crashy")
    uid, phone = user["id"], "79990000811"
    profile = tmp_path / "data" / "sessions" / str(uid)
    await link(server, fakewa, token, uid, phone, "Crashy")
    socket = await connect(server, token)
    clients.append(socket)
    await socket.next_of("hello")

    for victim in ("browser", "renderer"):
        before = profile_processes(profile)
        mains = browser_mains(profile)
        assert len(mains) == 1, mains
        flags = Path(f"/proc/{mains[0]}/cmdline").read_bytes().split(b"\0")
        assert b"--renderer-process-limit=4" in flags
        disabled = [f for f in flags if f.startswith(b"--disable-features=")]
        assert len(disabled) == 1 and {b"Translate", b"WebUIOmniboxPopup"} <= set(disabled[0].split(b"=", 1)[1].split(b","))
        if victim == "browser":
            targets = mains
        else:
            targets = [p for p in before if b"--type=renderer" in Path(f"/proc/{p}/cmdline").read_bytes()]
            assert targets, "no renderer to kill"
        for pid in targets:
            os.kill(pid, signal.SIGKILL)
        seen: list[str] = []
        failed = await wait_state(server, token, uid, "FAILED", seen=seen, timeout=20)
        assert failed["error"], failed
        # A message sent to the phone meanwhile is not lost: the page gets it when it is back.
        meanwhile = await fakewa.incoming(phone, "79990000812", f"while the {victim} was dead")
        back = await wait_state(server, token, uid, "CONNECTED", seen=seen, timeout=40)
        assert "QR" not in seen and back["phone"] == phone and back["error"] is None
        after = profile_processes(profile)
        assert not set(after) & set(targets), "a killed process is still there"
        assert len(browser_mains(profile)) == 1, f"browsers on the profile: {browser_mains(profile)}"
        rows = await wait_for(
            lambda: _rows_with(server, uid, meanwhile["id"]["_serialized"]), timeout=15, message=f"the message sent while the {victim} was dead"
        )
        assert len(rows) == 1

    # The socket followed it all: FAILED and CONNECTED statuses, never a QR.
    socket.send({"type": "ping", "ref": "end"})
    frames = []
    while (frame := await socket.next()) and not (frame["type"] == "reply" and frame["data"]["ref"] == "end"):
        frames.append(frame)
    states = [f["data"]["state"] for f in frames if f["type"] == "session.status"]
    assert states.count("FAILED") == 2 and states[-1] == "CONNECTED", states
    assert not [f for f in frames if f["type"] == "session.qr"]


async def _rows_with(server: Server, user_id: int, wa_id: str) -> list[dict]:
    return await server.app.db.fetch_all("SELECT id FROM messages WHERE user_id = ? AND wa_id = ?", (user_id, wa_id))


# -- the server killed with SIGKILL ---------------------------------------------------------------------------
DOWNTIME_MESSAGES = 6  # per user, over 3 chats (more than a sync's 50 per chat is not yet proven)


async def _none_running(profiles: list[Path]) -> bool:
    return not any(profile_processes(profile) for profile in profiles)


async def test_a_server_killed_with_sigkill_restores_its_sessions_and_loses_no_message(db_url, fakewa, tmp_path):
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "config.yaml",
        data_dir=str(data),
        database={"url": db_url},
        auth={"bcrypt_rounds": 4, "jwt_secret": "k" * 40},
        **wa_config(fakewa),
    )
    first = ServerProcess(config, cwd=tmp_path, log=tmp_path / "server.log")
    second = ServerProcess(config, cwd=tmp_path, log=tmp_path / "server.log")
    users = [("kim", "79990000821"), ("lee", "79990000822")]
    profiles: list[Path] = []
    try:
        await first.start()
        linked = []
        for name, phone in users:
            token, user = await register(first, name)
            await link(first, fakewa, token, user["id"], phone, name.title())
            profiles.append(data / "sessions" / str(user["id"]))
            linked.append((token, user["id"], phone))
        # One message before the crash, stored.
        before = await fakewa.incoming(linked[0][2], "79990000829", "before the crash")
        await wait_for(lambda: _listed(first, linked[0], "79990000829@c.us"), timeout=15, message="the first message")
        old_browsers = {pid for profile in profiles for pid in profile_processes(profile)}
        assert old_browsers

        await first.kill()
        # The browsers die with the server (their death signal), so their pages go offline and
        # WhatsApp keeps what arrives meanwhile for them instead of handing it to nobody.
        await wait_for(
            lambda: _none_running(profiles), timeout=15, message="the killed server's browsers to exit"
        )
        delivered: dict[tuple[int, str], list[str]] = {}
        for token, uid, phone in linked:
            for n in range(DOWNTIME_MESSAGES):
                chat_id = f"7999000083{n % 3}@c.us"
                msg = await fakewa.incoming(phone, chat_id.split("@")[0], f"while the server was dead {n}")
                delivered.setdefault((uid, chat_id), []).append(msg["id"]["_serialized"])
        await second.start()
        for token, uid, phone in linked:
            seen: list[str] = []
            restored = await wait_state(second, token, uid, "CONNECTED", seen=seen, timeout=60)
            assert "QR" not in seen and restored["phone"] == phone
        for token, uid, phone in linked:
            for chat_id in {f"7999000083{n}@c.us" for n in range(3)}:
                wanted = sorted(delivered[(uid, chat_id)])
                assert len(wanted) == DOWNTIME_MESSAGES // 3
                got = await wait_for(
                    lambda: _listed(second, (token, uid, phone), chat_id, len(wanted)), timeout=30,
                    message=f"the downtime messages of {chat_id} for user {uid}",
                )
                assert sorted(m["id"] for m in got) == wanted, "a downtime message is missing or doubled"
        pre = await _listed(second, linked[0], "79990000829@c.us")
        assert [m["id"] for m in pre] == [before["id"]["_serialized"]]

        # What the killed server left running is gone; each profile has one browser again.
        for profile in profiles:
            assert len(browser_mains(profile)) == 1, f"{profile}: {browser_mains(profile)}"
        assert not (old_browsers & {pid for profile in profiles for pid in profile_processes(profile)})
    finally:
        await first.stop()
        await second.stop()
        for profile in profiles:
            kill_profile(profile)


async def register(server: Any, username: str) -> tuple[str, dict]:
    response = await server.client.post("/api/auth/register", json={"username": username, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return response.json()["token"], response.json()["user"]


async def _listed(server: Any, linked: tuple[str, int, str], chat_id: str, count: int = 1) -> list[dict] | None:
    token, uid, _ = linked
    response = await server.client.get(f"/api/whatsapp/chats/{uid}/{chat_id}/messages?limit=200", headers=bearer(token))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items if len(items) >= count else None


# -- storms of concurrent start/stop/restart/clear on one session -----------------------------------------------
STORM_OPS = ("start", "disconnect", "restart", "clear-session")
STORM_OK = {"start": 202, "disconnect": 200, "restart": 202, "clear-session": 200}


async def test_a_storm_of_session_commands_ends_in_one_consistent_state(make_server, fakewa, tmp_path):
    import random

    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("stormy")
    uid = user["id"]
    key, profile = str(uid), tmp_path / "data" / "sessions" / str(uid)
    manager = server.app.state["whatsapp"].manager
    await link(server, fakewa, token, uid, "79990000841", "Stormy")

    for seed in (8, 88):  # two storms, each reproducible from its seed
        rng = random.Random(seed)
        plan = [(rng.choice(STORM_OPS), rng.uniform(0, 1.5)) for _ in range(40)]

        async def fire(op: str, delay: float) -> tuple[str, int, str]:
            await asyncio.sleep(delay)
            response = await server.client.post(f"/api/whatsapp/{op}/{uid}", headers=bearer(token))
            return op, response.status_code, response.text

        answers = await asyncio.gather(*(fire(op, delay) for op, delay in plan))
        wrong = [a for a in answers if a[1] != STORM_OK[a[0]]]
        assert not wrong, f"seed {seed}: {wrong[:3]}"

        final = await settled(server, token, uid)
        assert final in ("STOPPED", "QR", "CONNECTED"), f"seed {seed}: ended {final}"
        if final == "STOPPED":
            await wait_until(lambda: not profile_processes(profile), 10, "no browser left on the profile")
        else:
            mains = browser_mains(profile)
            assert len(mains) == 1, f"seed {seed}: {len(mains)} browsers on one profile in state {final}"
            assert all(descends_from(pid, mains[0]) for pid in profile_processes(profile)), "a stray process on the profile"
            assert set(manager.browser_pids(key)) == set(profile_processes(profile))
        # The recorded state follows the live one (restore at boot reads it).
        await wait_until(lambda: _recorded_state(server, uid, final), 10, f"wa_sessions to say {final}")
        print(f"\nstorm seed {seed}: {dict((op, sum(1 for o, _ in plan if o == op)) for op in STORM_OPS)} -> {final}")

    # Still usable afterwards: it starts and stops cleanly.
    assert (await server.client.post(f"/api/whatsapp/start/{uid}", headers=bearer(token))).status_code == 202
    assert await settled(server, token, uid) in ("QR", "CONNECTED")
    assert (await server.client.post(f"/api/whatsapp/disconnect/{uid}", headers=bearer(token))).json()["state"] == "STOPPED"
    await wait_until(lambda: not profile_processes(profile), 10, "no browser after the last stop")


async def settled(server: Server, token: str, uid: int, quiet: float = 2.0, timeout: float = 60) -> str:
    """The state once it has not changed for ``quiet`` seconds (STARTING and FAILED never count)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        response = await server.client.get(f"/api/whatsapp/status/{uid}", headers=bearer(token))
        state = response.json()["state"]
        if state != last:
            last, since = state, time.monotonic()
        elif state not in ("STARTING", "FAILED") and time.monotonic() - since >= quiet:
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"the session never settled; last state {last}")


async def _recorded_state(server: Server, uid: int, state: str) -> bool:
    row = await server.app.db.fetch_one("SELECT state FROM wa_sessions WHERE user_id = ?", (uid,))
    return row is not None and row["state"] == state


async def test_a_missing_chromium_is_a_503_that_says_what_to_do(make_server, fakewa):
    server = await make_server(whatsapp={"url": fakewa.url, "chromium": "/nonexistent/chromium"})
    token, user = await server.register("nobrowser")
    for route in ("start", "restart"):
        error = assert_error(await server.client.post(f"/api/whatsapp/{route}/{user['id']}", headers=bearer(token)), 503, "unavailable")
        assert "Chromium not found" in error["message"] and "whatsapp.chromium" in error["message"]
    status = (await server.client.get(f"/api/whatsapp/status/{user['id']}", headers=bearer(token))).json()
    assert status["state"] == "STOPPED"


async def test_closing_the_database_never_waits_forever_for_a_connection_in_use():
    from server.db import open_database
    from tests.support.server import mysql_database

    with mysql_database() as url:
        db = open_database(url, connect_timeout=2)
        await db.connect()
        held = await db._pool.acquire()  # a connection never given back, as by a stuck request
        started = time.monotonic()
        await asyncio.wait_for(db.close(), 15)
        assert time.monotonic() - started < 8 and held.closed
