"""The autoreply example plugin (examples/autoreply), as a third party ships it: installed into the
venv from its own package, loaded through its entry point exactly as `wamulti serve` loads it,
its tables made by its own migrations. End to end on both databases, with a real session in
Chromium and the simulator playing the phones: keyword rules, the away message and office hours,
once per chat per window, never answering itself, a broken rule skipped, its REST routes."""
from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest

from server.app import build_app
from server.config import ConfigError
from tests.support.server import DEFAULT_CONFIG, ROOT, Server, assert_error, bearer, test_config
from tests.support.whatsapp import link, messages, wa_config, wait_for
from tests.support.ws import connect

PLUGIN = "autoreply"
SOURCE = ROOT / "examples" / "autoreply" / "wamulti_autoreply"
INSTALL = "run `.venv/bin/pip install ./examples/autoreply` (`make test` does)"


def installed_plugin() -> Any:
    """The package as the server loads it: through the entry point of the installed distribution,
    from site-packages (not this tree), and as its source is now."""
    found = importlib.metadata.entry_points(group="wamulti", name=PLUGIN)
    if not found:
        pytest.fail(f"wamulti_autoreply is not installed in this environment: {INSTALL}", pytrace=False)
    module = next(iter(found)).load()
    folder = Path(module.__file__).resolve().parent
    if folder == SOURCE.resolve():
        pytest.fail(f"wamulti_autoreply is installed in editable mode; install it as a user does: {INSTALL}", pytrace=False)
    stale = [str(p.relative_to(SOURCE)) for p in sorted(SOURCE.rglob("*")) if p.suffix in (".py", ".sql")
             and not ((folder / p.relative_to(SOURCE)).is_file()
                      and (folder / p.relative_to(SOURCE)).read_bytes() == p.read_bytes())]
    if stale:
        pytest.fail(f"the installed wamulti_autoreply differs from examples/autoreply ({', '.join(stale)}): {INSTALL}",
                    pytrace=False)
    return module


wamulti_autoreply = installed_plugin()
matching = importlib.import_module("wamulti_autoreply.matching")
office_hours = importlib.import_module("wamulti_autoreply.hours")

ME = "79996670001"
ALICE, BOB, CAROL, DAN, ERIN = "79996670011", "79996670012", "79996670013", "79996670014", "79996670015"
PRICES = "Our price list: https://shop.example/prices"  # holds the keyword: were the bot to answer itself, it would loop
AWAY = "We are closed now; we answer from 9:00."


@pytest.fixture
async def make_bot_server(tmp_path: Path, db_url: str) -> AsyncIterator[Any]:
    """``await make_bot_server(**config_overrides)``: a server on a free port that loads the
    installed plugins by entry point, as `wamulti serve` does (the ``make_server`` fixture does not)."""
    started: list[Server] = []

    async def factory(**overrides: Any) -> Server:
        app = build_app(DEFAULT_CONFIG, overrides=test_config(tmp_path, db_url, **overrides), environ={})
        assert app.plugins.get_plugin(PLUGIN) is wamulti_autoreply
        await app.start(port=0, host="127.0.0.1")
        server = Server(app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30))
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        await server.client.aclose()
        await server.app.stop()


async def add_rule(server: Server, token: str, **rule: Any) -> dict:
    response = await server.client.post("/api/autoreply/rules", headers=bearer(token), json=rule)
    assert response.status_code == 201, response.text
    return response.json()


async def set_away(server: Server, token: str, **away: Any) -> dict:
    response = await server.client.put("/api/autoreply/away", headers=bearer(token), json=away)
    assert response.status_code == 200, response.text
    return response.json()


async def received(fakewa: Any, contact: str) -> list[str]:
    """The texts ``contact``'s phone received (from the linked account), oldest first."""
    return [m["body"] for m in await fakewa.messages(contact) if not m["id"]["fromMe"]]


async def answered(fakewa: Any, contact: str, count: int = 1) -> list[str]:
    """What ``contact`` received, once it received ``count`` messages."""
    async def enough() -> list[str] | None:
        texts = await received(fakewa, contact)
        return texts if len(texts) >= count else None

    return await wait_for(enough, message=f"{count} answer(s) at {contact}")


async def bot_sent(server: Server, user_id: int, expected: int) -> int:
    """How many messages the bot's sends stored: waits up to 10 s for ``expected`` (the phone may
    show a message a moment before the server has stored it), then says what there is."""
    deadline = time.monotonic() + 10
    while True:
        stored = int(await server.app.db.fetch_value(
            "SELECT COUNT(*) AS n FROM messages WHERE user_id = ? AND sent_by = ?", (user_id, f"plugin:{PLUGIN}")))
        if stored == expected or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(0.05)


def zone_near_noon(now: datetime) -> tuple[str, datetime]:
    """An IANA zone whose local time is now between 10:00 and 14:00, and that local time: office
    hours set around it, or well after it, are deterministic whenever the test runs."""
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is three hours ahead of UTC
        local = now.astimezone(ZoneInfo(name))
        if 10 <= local.hour < 14:
            return name, local
    raise AssertionError("some whole-hour zone is always near noon")


def hours_today(local: datetime, start: int, end: int, others: list[dict] | None = None) -> dict[str, list[dict]]:
    """Office hours: today (in the zone of ``local``) from ``start`` to ``end`` o'clock, every other day ``others``."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    today = days[local.weekday()]
    return {day: ([{"start": f"{start:02d}:00", "end": f"{end:02d}:00"}] if day == today else others or []) for day in days}


# -- end to end, through a real session --------------------------------------------------------------
@pytest.mark.browser
async def test_a_keyword_rule_answers_once_per_window_and_never_the_accounts_own_messages(make_bot_server, fakewa, clients):
    server = await make_bot_server(**wa_config(fakewa))  # autoreply.window_seconds: the default hour
    token, user = await server.register()
    uid = user["id"]
    await add_rule(server, token, keyword="price", reply=PRICES)
    await link(server, fakewa, token, uid, ME, "Shop")
    socket = await connect(server, token)
    clients.append(socket)

    await fakewa.incoming(ME, ALICE, "price?")
    assert await answered(fakewa, ALICE) == [PRICES]
    question = await socket.expect("message", lambda d: d["body"] == "price?")
    answer = await socket.expect("message", lambda d: d["body"] == PRICES)
    assert answer["sentBy"] == f"plugin:{PLUGIN}" and answer["fromMe"] and answer["quotedId"] == question["id"]
    assert answer["chatId"] == question["chatId"]

    # Within the window: no second answer to Alice. A message the user sends through the API, with
    # the keyword in it, gets none either. Each is seen on the websocket (so it is in the plugin's
    # queue) before Carol writes; Carol's answer comes after the bot has handled both.
    await fakewa.incoming(ME, ALICE, "and the price of the blue one?")
    await socket.expect("message", lambda d: d["body"] == "and the price of the blue one?")
    sent = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token),
                                     json={"to": BOB, "message": "the price is 5"})
    assert sent.status_code == 201, sent.text
    await socket.expect("message", lambda d: d["body"] == "the price is 5" and d["sentBy"] == "user")
    await fakewa.incoming(ME, CAROL, "PRICE")
    assert await answered(fakewa, CAROL) == [PRICES]
    assert await received(fakewa, ALICE) == [PRICES]
    assert await received(fakewa, BOB) == ["the price is 5"]
    assert await bot_sent(server, uid, 2) == 2  # its own answers, which hold the keyword, started nothing

    # Deleting the user takes their rules and the memory of answers along.
    admin_token, _ = await server.admin()
    assert await server.app.db.fetch_value("SELECT COUNT(*) AS n FROM autoreply_replies WHERE user_id = ?", (uid,)) == 2
    deleted = await server.client.delete(f"/api/admin/users/{uid}", headers=bearer(admin_token))
    assert deleted.status_code == 204, deleted.text
    for table in ("autoreply_rules", "autoreply_away", "autoreply_replies"):
        assert await server.app.db.fetch_value(f"SELECT COUNT(*) AS n FROM {table} WHERE user_id = ?", (uid,)) == 0


@pytest.mark.browser
async def test_the_away_message_answers_outside_office_hours_in_the_users_time_zone(make_bot_server, fakewa, clients):
    server = await make_bot_server(**wa_config(fakewa))
    token, user = await server.register()
    uid = user["id"]
    zone, local = zone_near_noon(datetime.now(timezone.utc))
    await add_rule(server, token, keyword="price", match="word", reply=PRICES)
    away = await set_away(server, token, enabled=True, message=AWAY, timezone=zone,
                          hours=hours_today(local, local.hour - 2, local.hour + 3))
    assert away["timezone"] == zone and away["enabled"] is True
    await link(server, fakewa, token, uid, ME, "Shop")
    socket = await connect(server, token)
    clients.append(socket)

    # Open now: no away message for Alice (Bob's keyword answer comes after the bot handled her).
    await fakewa.incoming(ME, ALICE, "hello")
    await socket.expect("message", lambda d: d["body"] == "hello")
    await fakewa.incoming(ME, BOB, "what is the price?")
    assert await answered(fakewa, BOB) == [PRICES]
    assert await received(fakewa, ALICE) == []

    # Closed now (today opens later; every other day is open all day, so the weekday must be
    # read in the user's zone too).
    await set_away(server, token, enabled=True, message=AWAY, timezone=zone,
                   hours=hours_today(local, local.hour + 2, local.hour + 4, others=[{"start": "00:00", "end": "24:00"}]))
    await fakewa.incoming(ME, CAROL, "price")
    assert await answered(fakewa, CAROL) == [PRICES]  # a keyword rule comes before the away message
    await fakewa.incoming(ME, ALICE, "hello again")
    assert await answered(fakewa, ALICE) == [AWAY]
    away_frame = await socket.expect("message", lambda d: d["body"] == AWAY)
    assert away_frame["sentBy"] == f"plugin:{PLUGIN}" and away_frame["quotedId"] is None
    assert await received(fakewa, CAROL) == [PRICES]

    # Switched off: nobody gets it (Erin's keyword answer comes after the bot handled Dan).
    await set_away(server, token, enabled=False, message=AWAY, timezone=zone)
    await fakewa.incoming(ME, DAN, "good evening")
    await socket.expect("message", lambda d: d["body"] == "good evening")
    await fakewa.incoming(ME, ERIN, "price")
    assert await answered(fakewa, ERIN) == [PRICES]
    assert await received(fakewa, DAN) == []
    assert await bot_sent(server, uid, 4) == 4


@pytest.mark.browser
async def test_a_rule_that_cannot_be_applied_is_logged_and_skipped_and_the_session_goes_on(make_bot_server, fakewa, clients, caplog):
    caplog.set_level(logging.DEBUG)
    server = await make_bot_server(**wa_config(fakewa))
    token, user = await server.register()
    uid = user["id"]
    # A rule row this version cannot apply, tried first: a newer version of the plugin (or a hand
    # edit) stored a match kind this one does not know. The API never accepts one.
    stamp = "2026-11-28 10:00:00"
    await server.app.db.execute(
        "INSERT INTO autoreply_rules (user_id, keyword, match_kind, reply, active, created_at, updated_at)"
        " VALUES (?, 'price', 'regex', 'from the broken rule', 1, ?, ?)", (uid, stamp, stamp))
    broken = await server.app.db.fetch_value("SELECT id FROM autoreply_rules WHERE user_id = ?", (uid,))
    good = await add_rule(server, token, keyword="price", reply=PRICES)
    listed = (await server.client.get("/api/autoreply/rules", headers=bearer(token))).json()
    assert [r["id"] for r in listed["items"]] == [broken, good["id"]]
    await link(server, fakewa, token, uid, ME, "Shop")
    socket = await connect(server, token)
    clients.append(socket)

    await fakewa.incoming(ME, ALICE, "price, please")
    assert await answered(fakewa, ALICE) == [PRICES]  # the next rule answered
    logged = [r for r in caplog.records if r.name == "wamulti.autoreply" and r.levelno >= logging.ERROR]
    assert logged and f"plugin {PLUGIN}: rule {broken} of user {uid}" in logged[0].getMessage()
    assert "regex" in str(logged[0].exc_info[1])  # the cause is in the log ...
    assert not any("price, please" in r.getMessage() for r in caplog.records)  # ... a message's text never is

    # The session goes on: later messages reach the websocket and the REST API, the bot answers.
    await fakewa.incoming(ME, ALICE, "still there?")
    later = await socket.expect("message", lambda d: d["body"] == "still there?")
    assert "still there?" in [m["body"] for m in await messages(server, token, uid, later["chatId"])]
    await fakewa.incoming(ME, BOB, "price")
    assert await answered(fakewa, BOB) == [PRICES]
    stats = server.app.state["whatsapp"].plugin_events.stats()[PLUGIN]
    assert stats["failed"] == 0  # the broken rule never made the plugin's hook fail


# -- the REST routes ----------------------------------------------------------------------------------
async def test_rules_are_made_changed_and_deleted_by_their_owner_only(make_bot_server):
    server = await make_bot_server(autoreply={"max_rules_per_user": 2})
    token, _ = await server.register()
    other, _ = await server.register()
    response = await server.client.post("/api/autoreply/rules", headers=bearer(token),
                                        json={"keyword": "hours", "match": "exact", "reply": "9 to 5"})
    assert response.status_code == 201, response.text
    rule = response.json()
    assert response.headers["Location"] == f"/api/autoreply/rules/{rule['id']}"
    assert set(rule) == {"id", "keyword", "match", "reply", "active", "createdAt", "updatedAt"}
    assert (rule["keyword"], rule["match"], rule["reply"], rule["active"]) == ("hours", "exact", "9 to 5", True)
    assert (await server.client.get(f"/api/autoreply/rules/{rule['id']}", headers=bearer(token))).json() == rule

    changed = await server.client.patch(f"/api/autoreply/rules/{rule['id']}", headers=bearer(token),
                                        json={"active": False, "match": "word"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["active"], changed.json()["match"], changed.json()["keyword"]) == (False, "word", "hours")
    rule = changed.json()

    # Another user's rule does not exist for them, whatever they try; nothing changes.
    for method, body in (("GET", None), ("PATCH", {"reply": "mine now"}), ("DELETE", None)):
        response = await server.client.request(method, f"/api/autoreply/rules/{rule['id']}", headers=bearer(other), json=body)
        assert_error(response, 404, "not_found")
    assert (await server.client.get("/api/autoreply/rules", headers=bearer(other))).json()["total"] == 0
    assert (await server.client.get(f"/api/autoreply/rules/{rule['id']}", headers=bearer(token))).json() == rule
    assert_error(await server.client.get("/api/autoreply/rules"), 401, "unauthorized")
    assert_error(await server.client.get("/api/autoreply/rules/" + "9" * 30, headers=bearer(token)), 404, "not_found")

    await add_rule(server, token, keyword="price", reply="5 EUR")
    assert_error(await server.client.post("/api/autoreply/rules", headers=bearer(token),
                                          json={"keyword": "third", "reply": "no room"}), 409, "conflict")
    deleted = await server.client.delete(f"/api/autoreply/rules/{rule['id']}", headers=bearer(token))
    assert deleted.status_code == 204
    assert_error(await server.client.get(f"/api/autoreply/rules/{rule['id']}", headers=bearer(token)), 404, "not_found")
    listed = (await server.client.get("/api/autoreply/rules", headers=bearer(token))).json()
    assert [r["keyword"] for r in listed["items"]] == ["price"] and listed["total"] == 1


@pytest.mark.parametrize("body, field", [
    ({"keyword": "", "reply": "x"}, "keyword"),
    ({"keyword": "   ", "reply": "x"}, "keyword"),
    ({"reply": "x"}, "keyword"),
    ({"keyword": "price", "reply": ""}, "reply"),
    ({"keyword": "price", "reply": "x", "match": "regex"}, "match"),
    ({"keyword": "price", "reply": "x", "id": 7}, "id"),
    ({"keyword": "x" * 201, "reply": "x"}, "keyword"),
])
async def test_an_invalid_rule_is_refused_and_changes_nothing(make_bot_server, body, field):
    server = await make_bot_server()
    token, _ = await server.register()
    rule = await add_rule(server, token, keyword="price", reply="5 EUR")
    error = assert_error(await server.client.post("/api/autoreply/rules", headers=bearer(token), json=body), 422,
                         "validation_failed")
    assert field in error["fields"]
    if field in body:  # the same value in a change
        error = assert_error(await server.client.patch(f"/api/autoreply/rules/{rule['id']}", headers=bearer(token),
                                                       json={field: body[field]}), 422, "validation_failed")
        assert field in error["fields"]
    listed = (await server.client.get("/api/autoreply/rules", headers=bearer(token))).json()
    assert listed["items"] == [rule]


@pytest.mark.parametrize("change, field", [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../../etc/passwd"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"hours": {"mon": [{"start": "17:00", "end": "09:00"}]}}, "hours"),
    ({"hours": {"mon": [{"start": "09:00", "end": "24:30"}]}}, "hours"),
    ({"hours": {"mon": [{"start": "9:00", "end": "17:00"}]}}, "hours"),
    ({"hours": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "17:00"}]}}, "hours"),
    ({"hours": {"holiday": []}}, "hours"),
    ({"hours": {"mon": "09:00-17:00"}}, "hours"),
    ({"message": ""}, "message"),
    ({"enabled": None}, "enabled"),
])
async def test_an_invalid_away_message_is_refused_and_changes_nothing(make_bot_server, change, field):
    server = await make_bot_server()
    token, _ = await server.register()
    assert (await server.client.get("/api/autoreply/away", headers=bearer(token))).json() == {
        "enabled": False, "message": "", "timezone": "UTC", "updatedAt": None,
        "hours": {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    good = {"enabled": True, "message": AWAY, "timezone": "Europe/Berlin",
            "hours": {"mon": [{"start": "09:00", "end": "12:30"}, {"start": "13:30", "end": "24:00"}]}}
    before = await set_away(server, token, **good)
    assert before["hours"]["mon"] == good["hours"]["mon"] and before["hours"]["sun"] == []
    error = assert_error(await server.client.put("/api/autoreply/away", headers=bearer(token), json={**good, **change}),
                         422, "validation_failed")
    assert field in error["fields"]
    assert (await server.client.get("/api/autoreply/away", headers=bearer(token))).json() == before


async def test_the_routes_are_in_the_openapi_document(make_bot_server):
    server = await make_bot_server()
    document = (await server.client.get("/api/openapi.json")).json()
    paths = {path: set(item) for path, item in document["paths"].items() if path.startswith("/api/autoreply")}
    assert paths == {"/api/autoreply/rules": {"get", "post"}, "/api/autoreply/rules/{rule_id}": {"get", "patch", "delete"},
                     "/api/autoreply/away": {"get", "put"}}
    create = document["paths"]["/api/autoreply/rules"]["post"]
    assert create["tags"] == [PLUGIN] and create["security"] and {"201", "401", "409", "422"} <= set(create["responses"])
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][body]["properties"]) == {"keyword", "match", "reply", "active"}
    assert "404" in document["paths"]["/api/autoreply/rules/{rule_id}"]["delete"]["responses"]
    away = document["components"]["schemas"]["AutoreplyAway"]
    assert set(away["required"]) >= {"enabled", "message", "timezone", "hours", "updatedAt"}
    refs = set(_refs([document["paths"][path] for path in paths]))
    assert refs and all(document["components"]["schemas"].get(ref.rsplit("/", 1)[-1]) for ref in refs)


def _refs(node: Any) -> Any:
    """Every ``$ref`` under a part of the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


# -- its configuration and migrations --------------------------------------------------------------------
def test_its_config_section_has_defaults_and_refuses_bad_values(tmp_path):
    base = {"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/db.sqlite"}}
    app = build_app(DEFAULT_CONFIG, overrides=base, environ={})
    assert app.config["autoreply"] == {"window_seconds": 3600, "max_rules_per_user": 50, "max_age_seconds": 300}
    env = build_app(DEFAULT_CONFIG, overrides=base, environ={"WAMULTI_AUTOREPLY__WINDOW_SECONDS": "60"})
    assert env.config["autoreply"]["window_seconds"] == 60
    for bad in ({"window_seconds": 0}, {"window_seconds": "soon"}, {"max_rules_per_user": 0}, {"shout": True}):
        with pytest.raises(ConfigError, match=r"^config: autoreply\."):
            build_app(DEFAULT_CONFIG, overrides={**base, "autoreply": bad}, environ={})


async def test_its_migrations_come_from_the_installed_package(make_bot_server):
    server = await make_bot_server()
    applied = {r["id"] for r in await server.app.db.fetch_all("SELECT id FROM schema_migrations")}
    assert f"{PLUGIN}/0001_autoreply.sql" in applied
    folder = wamulti_autoreply.register_migrations(dialect=server.app.db.dialect)
    assert "site-packages" in str(folder) and (folder / "0001_autoreply.sql").is_file()


# -- what the bot answers (pure decisions, no server) ------------------------------------------------------
def incoming(**data: Any) -> dict:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "message", "data": {"id": "false_1@c.us_A", "chatId": f"{ALICE}@c.us", "body": "price?", "type": "chat",
                                        "fromMe": False, "sentBy": None, "revoked": False, "timestamp": now, **data}}


@pytest.mark.parametrize("event, answers", [
    (incoming(), True),
    (incoming(chatId="12345678901@lid"), True),
    (incoming(type="image", body="", caption="price?"), True),
    (incoming(fromMe=True), False),  # typed on the phone
    (incoming(fromMe=True, sentBy="user"), False),  # sent through the API
    (incoming(fromMe=True, sentBy=f"plugin:{PLUGIN}"), False),  # its own answer
    (incoming(sentBy=f"plugin:{PLUGIN}"), False),  # marked as sent by a plugin, whatever else it says
    (incoming(chatId="120363012345678@g.us"), False),
    (incoming(chatId="status@broadcast"), False),
    (incoming(type="revoked", body=""), False),
    (incoming(type="e2e_notification"), False),
    (incoming(timestamp="2020-01-01T00:00:00Z"), False),  # replayed when the session came back
    ({"type": "message.ack", "data": {"id": "x", "ack": 3}}, False),
])
def test_only_new_messages_of_people_in_their_own_chats_are_answered(event, answers):
    found = matching.answerable(event, now=datetime.now(timezone.utc), max_age_seconds=300)
    assert (found is not None) == answers


@pytest.mark.parametrize("kind, keyword, text, hit", [
    ("contains", "price", "What's the PRICE?", True),
    ("contains", "price", "how much", False),
    ("word", "price", "price?", True),
    ("word", "price", "priceless", False),
    ("word", "opening hours", "your Opening\n hours?", True),
    ("word", "opening hours", "reopening hours", False),
    ("word", "opening hours", "your opening hours?", True),
    ("exact", "hi", "  Hi ", True),
    ("exact", "hi", "hi there", False),
    ("starts_with", "order", "Order 42 status", True),
    ("starts_with", "order", "my order", False),
    ("contains", "ｐｒｉｃｅ", "price", True),  # full-width letters are the same letters
])
def test_keywords_match_the_rules_way(kind, keyword, text, hit):
    assert matching.matches({"id": 1, "keyword": keyword, "match_kind": kind}, text) is hit


def test_office_hours_are_read_in_the_zone_given():
    week = {"mon": [{"start": "09:00", "end": "17:00"}], "tue": [{"start": "00:00", "end": "24:00"}]}
    monday_8_utc = datetime(2026, 11, 30, 8, 30, tzinfo=timezone.utc)  # a Monday
    assert not office_hours.is_open(week, "UTC", monday_8_utc)
    assert office_hours.is_open(week, "Europe/Berlin", monday_8_utc)  # 09:30 there
    assert not office_hours.is_open(week, "Europe/Berlin", monday_8_utc + timedelta(hours=8))  # 17:30 there
    assert office_hours.is_open(week, "Asia/Tokyo", monday_8_utc + timedelta(hours=10))  # Tuesday 03:30 there
    assert not office_hours.is_open(week, "America/New_York", monday_8_utc)  # Monday 03:30 there
