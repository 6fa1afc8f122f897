"""Webhooks end to end: a real server, a real WhatsApp session in Chromium against the simulator,
and a real HTTP receiver (tests/support/receiver.py) that checks each delivery's signature with
the standardwebhooks library, fails on demand, or never answers.

One server, simulator, receiver and linked user per database serve the module's tests; each test
makes endpoints (and chats) of its own. The SIGKILL test and the SSRF test run servers of their
own, on databases of their own.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import pytest_asyncio
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from plugins.webhooks import store
from plugins.webhooks.signing import new_secret
from server.app import build_app
from tests.fakewa.pytest_plugin import RunningFakeWhatsApp, start_fakewa
from tests.fakewa.settings import GENERATIONS, SimSettings
from tests.support.faults import ServerProcess, kill_profile, profile_processes, write_config
from tests.support.receiver import Receiver
from tests.support.server import DEFAULT_CONFIG, TEST_PASSWORD, Server, assert_error, bearer, mysql_database, test_config
from tests.support.whatsapp import link, wa_config, wait_for
from tests.support.ws import connect

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ME = "79990007700"
# Fast retries, for tests: a failed delivery is given up 4 seconds after its first attempt.
FAST = {"allow_private_targets": True, "timeout": 3, "lease": 6, "retry_initial": 0.05, "retry_max_interval": 0.2,
        "retry_for": 4, "disable_after_failures": 2, "poll_interval": 0.05}


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh database of the backend: a SQLite file in ``folder``, or a MariaDB database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'wamulti.db'}"
    else:
        with mysql_database() as url:
            yield url


@dataclass
class World:
    backend: str
    server: Server
    fakewa: RunningFakeWhatsApp
    receiver: Receiver
    token: str
    user: dict
    folder: Path
    _endpoints: int = 0

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)

    async def endpoint(self, path: str, events: list[str], token: str | None = None) -> dict:
        """A new endpoint of the user's (or of ``token``'s) pointed at the receiver; with its secret."""
        response = await self.server.client.post(
            "/api/webhooks", headers=bearer(token or self.token),
            json={"url": self.receiver.url(path), "events": events, "description": f"test {path}"},
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def deliveries(self, endpoint_id: int, token: str | None = None) -> list[dict]:
        response = await self.server.client.get(f"/api/webhooks/{endpoint_id}/deliveries", headers=bearer(token or self.token))
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def settled(self, endpoint_id: int, count: int, status: str = "delivered") -> list[dict]:
        """Wait until the endpoint has ``count`` deliveries, all in ``status``; oldest first."""
        async def check() -> list[dict] | None:
            items = await self.deliveries(endpoint_id)
            return items[::-1] if len(items) == count and all(d["status"] == status for d in items) else None

        return await wait_for(check, timeout=40, message=f"{count} deliveries {status} at endpoint {endpoint_id}")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "mysql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    with database(request.param, folder) as db_url:
        sim = await start_fakewa(SimSettings.fast(generation=GENERATIONS[0]))
        fakewa = RunningFakeWhatsApp(sim)
        receiver = await Receiver().start()
        overrides = test_config(folder, db_url, **wa_config(fakewa), webhooks=FAST, metrics={"enabled": True})
        app = build_app(DEFAULT_CONFIG, overrides=overrides, environ={}, entry_points=False)
        server = None
        try:
            await app.start(port=0, host="127.0.0.1")
            server = Server(app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30))
            token, user = await server.register("alice")
            await link(server, fakewa, token, user["id"], ME, "Alice")
            yield World(request.param, server, fakewa, receiver, token, user, folder)
        finally:
            if server is not None:
                await server.client.aclose()
            await app.stop()
            await receiver.stop()
            await fakewa.aclose()
            await sim.stop()


def verified(secret: str, request: Any) -> dict:
    """The delivery's body, once its signature verified with the standardwebhooks library."""
    return Webhook(secret).verify(request.body, request.headers)


def bodies(requests: list) -> list[str]:
    return [r.json()["data"]["body"] for r in requests]


# -- signed deliveries -----------------------------------------------------------------------------------
async def test_messages_and_session_status_arrive_signed(world):
    hook = await world.endpoint("/signed", ["message", "session.status"])
    secret = hook["secret"]
    assert secret.startswith("whsec_") and "secret" not in (await world.server.client.get(
        f"/api/webhooks/{hook['id']}", headers=world.auth)).json()

    sent = await world.fakewa.incoming(ME, "79990007711", "hello hooks")
    restart = await world.server.client.post(f"/api/whatsapp/restart/{world.user['id']}", headers=world.auth)
    assert restart.status_code == 202, restart.text

    def arrived() -> list | None:
        got = [verified(secret, r) for r in world.receiver.delivered("/signed")]
        messages = [b for b in got if b["type"] == "message"]
        statuses = [b for b in got if b["type"] == "session.status" and b["data"]["state"] == "CONNECTED"]
        return got if messages and statuses else None

    got = await world.receiver.wait(arrived, message="a message and a session status")
    message = next(b for b in got if b["type"] == "message")
    assert message["data"]["body"] == "hello hooks" and message["data"]["id"] == sent["id"]["_serialized"]
    assert message["userId"] == world.user["id"] and message["data"]["fromMe"] is False
    assert {b["type"] for b in got} == {"message", "session.status"}  # only what it asked for
    for request in world.receiver.at("/signed"):
        assert request.webhook_id == request.json()["id"]
        assert request.headers["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(request.body, request.headers)
        tampered = request.body.replace(b"hello hooks", b"hello crooks")
        if tampered != request.body:
            with pytest.raises(WebhookVerificationError):
                Webhook(secret).verify(tampered, request.headers)

    log = await world.deliveries(hook["id"])
    assert {d["eventType"] for d in log} == {"message", "session.status"}
    for entry in log:
        if entry["status"] == "delivered":
            assert entry["attempts"] == 1 and entry["lastStatusCode"] == 200 and entry["lastError"] is None
            assert isinstance(entry["latencyMs"], int) and entry["deliveredAt"] and entry["nextAttemptAt"] is None


async def test_a_failing_receiver_gets_the_event_once_more_after_its_retries(world):
    hook = await world.endpoint("/flaky", ["message"])
    world.receiver.answer("/flaky", 500, 500, 500)
    await world.fakewa.incoming(ME, "79990007712", "retry me")
    [delivery] = await world.settled(hook["id"], 1)
    assert delivery["attempts"] == 4 and delivery["lastStatusCode"] == 200 and delivery["lastError"] is None

    requests = world.receiver.at("/flaky")
    assert [r.status for r in requests] == [500, 500, 500, 200]
    assert len({r.webhook_id for r in requests}) == 1 and requests[0].webhook_id == delivery["eventId"]
    assert len({r.body for r in requests}) == 1  # the same body, signed anew each time
    for request in requests:
        assert verified(hook["secret"], request)["data"]["body"] == "retry me"
    await asyncio.sleep(1.0)  # were it to be sent again, it would come now
    assert len(world.receiver.at("/flaky")) == 4


async def test_a_chats_messages_arrive_in_order_even_when_the_first_attempt_fails(world):
    hook = await world.endpoint("/ordered", ["message"])
    world.receiver.answer("/ordered", 500)
    texts = [f"in order {n}" for n in range(4)]
    for text in texts:
        await world.fakewa.incoming(ME, "79990007713", text)
    await world.settled(hook["id"], len(texts))

    requests = world.receiver.at("/ordered")
    assert bodies(world.receiver.delivered("/ordered")) == texts
    assert requests[0].status == 500 and bodies(requests[:2]) == texts[:1] * 2  # the next one waited for it
    # No message was sent before the one before it was delivered.
    for earlier, later in zip(texts, texts[1:]):
        done = next(i for i, r in enumerate(requests) if r.ok and r.json()["data"]["body"] == earlier)
        first = next(i for i, r in enumerate(requests) if r.json()["data"]["body"] == later)
        assert first > done, (earlier, later)


async def test_a_rotated_secret_signs_what_follows_and_the_old_one_verifies_nothing(world):
    hook = await world.endpoint("/rotating", ["message"])
    old = hook["secret"]
    await world.fakewa.incoming(ME, "79990007714", "before rotation")
    await world.receiver.wait(lambda: world.receiver.delivered("/rotating"))
    assert verified(old, world.receiver.delivered("/rotating")[0])["data"]["body"] == "before rotation"

    rotated = await world.server.client.post(f"/api/webhooks/{hook['id']}/secret", headers=world.auth)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old and rotated.json()["id"] == hook["id"]

    await world.fakewa.incoming(ME, "79990007714", "after rotation")
    await world.receiver.wait(lambda: len(world.receiver.delivered("/rotating")) == 2)
    after = world.receiver.delivered("/rotating")[1]
    assert verified(new, after)["data"]["body"] == "after rotation"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told(world):
    socket = await connect(world.server, world.token)
    try:
        hook = await world.endpoint("/down", ["message"])
        world.receiver.always("/down", 500)
        await world.fakewa.incoming(ME, "79990007715", "lost one")
        await world.fakewa.incoming(ME, "79990007716", "lost two")
        frame = await socket.expect("webhook.disabled", lambda d: d["id"] == hook["id"], timeout=40)
    finally:
        socket.close()
    assert frame["active"] is False and "2 deliveries in a row failed" in frame["disabledReason"]
    assert "secret" not in frame
    shown = (await world.server.client.get(f"/api/webhooks/{hook['id']}", headers=world.auth)).json()
    assert shown["active"] is False and shown["disabledReason"] == frame["disabledReason"]
    failed = await world.settled(hook["id"], 2, status="failed")
    assert all(d["attempts"] >= 2 and d["lastStatusCode"] == 500 and "500" in d["lastError"] for d in failed)

    # Disabled, it gets nothing more: a new message makes no delivery for it.
    witness = await world.endpoint("/witness", ["message"])
    await world.fakewa.incoming(ME, "79990007715", "while disabled")
    await world.settled(witness["id"], 1)
    assert len(await world.deliveries(hook["id"])) == 2

    # Enabled again, a failed delivery can be sent again: same webhook-id, now delivered.
    world.receiver.always("/down", 200)
    enabled = await world.server.client.patch(f"/api/webhooks/{hook['id']}", headers=world.auth, json={"active": True})
    assert enabled.status_code == 200 and enabled.json()["disabledReason"] is None
    again = await world.server.client.post(f"/api/webhooks/{hook['id']}/deliveries/{failed[0]['id']}/redeliver",
                                           headers=world.auth)
    assert again.status_code == 202 and again.json()["status"] == "pending", again.text
    await world.receiver.wait(lambda: world.receiver.delivered("/down"))
    [resent] = world.receiver.delivered("/down")
    assert resent.webhook_id == failed[0]["eventId"] and verified(hook["secret"], resent)["data"]["body"] == "lost one"
    log = {d["id"]: d for d in await world.deliveries(hook["id"])}
    assert log[failed[0]["id"]]["status"] == "delivered" and log[failed[1]["id"]]["status"] == "failed"


async def test_other_users_webhooks_are_404_and_bad_input_changes_nothing(world):
    client = world.server.client
    hook = await world.endpoint("/mine", ["message"])
    await world.fakewa.incoming(ME, "79990007717", "for alice only")
    [delivery] = await world.settled(hook["id"], 1)
    bob_token, bob = await world.server.register()
    bob_hook = await world.endpoint("/bobs", ["message"], token=bob_token)
    base = f"/api/webhooks/{hook['id']}"
    for method, path, body in (
        ("GET", base, None), ("PATCH", base, {"description": "mine now"}), ("DELETE", base, None),
        ("POST", base + "/secret", None), ("GET", base + "/deliveries", None),
        ("POST", f"{base}/deliveries/{delivery['id']}/redeliver", None),
        ("POST", f"/api/webhooks/{bob_hook['id']}/deliveries/{delivery['id']}/redeliver", None),
        ("GET", "/api/webhooks/99999999", None), ("GET", "/api/webhooks/9999999999999999999999/deliveries", None),
    ):
        response = await client.request(method, path, headers=bearer(bob_token), json=body)
        error = assert_error(response, 404, "not_found")
        assert "for alice only" not in response.text and hook["url"] not in error["message"]
    listed = (await client.get("/api/webhooks", headers=bearer(bob_token))).json()
    assert [h["id"] for h in listed["items"]] == [bob_hook["id"]] and listed["total"] == 1
    assert_error(await client.get("/api/admin/webhooks", headers=bearer(bob_token)), 403, "forbidden")

    admin_token, _ = await world.server.admin()
    everyone = (await client.get("/api/admin/webhooks?limit=200", headers=bearer(admin_token))).json()
    assert {hook["id"], bob_hook["id"]} <= {h["id"] for h in everyone["items"]}
    only_bob = (await client.get(f"/api/admin/webhooks?userId={bob['id']}", headers=bearer(admin_token))).json()
    assert [h["userId"] for h in only_bob["items"]] == [bob["id"]]
    assert all("secret" not in h for h in everyone["items"])

    before = await world.server.app.db.fetch_all("SELECT * FROM webhook_endpoints ORDER BY id")
    for body in (
        {"url": "ftp://example.com/x"}, {"url": "not a url"}, {"url": "https://" + "a" * 2100 + ".com/"},
        {"url": "https://example.com/", "events": ["message", "nope"]}, {"url": "https://example.com/", "events": []},
        {"url": "https://example.com/", "events": ["*", "message"]}, {"url": "https://example.com/", "events": "message"},
        {"url": "https://example.com/", "description": "x" * 501}, {"url": "https://example.com/", "id": 7},
        {"url": "https://example.com/", "secret": "whsec_bWluZQ=="}, {"url": "https://example.com/", "active": "maybe"},
        {},
    ):
        assert_error(await client.post("/api/webhooks", headers=world.auth, json=body), 422, "validation_failed")
    for body in ({}, {"events": ["message.sent"]}, {"url": "javascript:alert(1)"}, {"userId": bob["id"]}):
        assert_error(await client.patch(base, headers=world.auth, json=body), 422, "validation_failed")
    response = await client.post("/api/webhooks", headers={**world.auth, "Content-Type": "application/json"},
                                 content=b"{not json")
    assert_error(response, 400, "bad_request")
    assert_error(await client.get(f"{base}/deliveries?status=lost", headers=world.auth), 422, "validation_failed")
    assert await world.server.app.db.fetch_all("SELECT * FROM webhook_endpoints ORDER BY id") == before

    # A deleted user's endpoints and deliveries go with them.
    deleted = await client.delete(f"/api/admin/users/{bob['id']}", headers=bearer(admin_token))
    assert deleted.status_code == 204
    assert await world.server.app.db.fetch_value("SELECT COUNT(*) FROM webhook_endpoints WHERE user_id = ?", (bob["id"],)) == 0
    assert await world.server.app.db.fetch_value(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ?", (bob_hook["id"],)) == 0


async def test_metrics_count_attempts_and_the_queue_without_naming_anyone(world):
    hook = await world.endpoint("/counted", ["message"])
    await world.fakewa.incoming(ME, "79990007718", "count me")
    await world.settled(hook["id"], 1)

    async def scraped() -> str | None:
        text = (await world.server.client.get("/metrics")).text
        return text if "wamulti_webhooks_queue_depth" in text else None

    text = await wait_for(scraped, message="the queue figures in /metrics")
    lines = [line for line in text.splitlines() if line.startswith("wamulti_webhooks_")]
    success = next(line for line in lines if line.startswith('wamulti_webhooks_attempts_total{outcome="success"}'))
    assert float(success.split()[-1]) >= 1
    for name in ("wamulti_webhooks_deliveries_total", "wamulti_webhooks_oldest_pending_age_seconds",
                 "wamulti_webhooks_endpoints_disabled_total", "wamulti_webhooks_attempt_duration_seconds_count"):
        assert any(line.startswith(name) for line in lines), name
    for line in lines:
        assert "127.0.0.1" not in line and str(world.receiver.port) not in line.split()[0] and "user" not in line


async def test_a_redirect_is_not_followed_and_a_silent_receiver_times_out(world):
    moved = await world.endpoint("/moved-away", ["message"])
    world.receiver.always("/moved-away", 302)  # Location: /moved-away/moved
    silent = await world.endpoint("/silent", ["message"])
    world.receiver.hold("/silent")
    try:
        await world.fakewa.incoming(ME, "79990007719", "anyone there")

        async def both_tried() -> tuple[dict, dict] | None:
            redirected, unanswered = await world.deliveries(moved["id"]), await world.deliveries(silent["id"])
            if redirected and unanswered and redirected[0]["attempts"] >= 1 and unanswered[0]["attempts"] >= 1:
                return redirected[0], unanswered[0]
            return None

        redirected, timed_out = await wait_for(both_tried, timeout=40, message="an attempt at each endpoint")
    finally:
        world.receiver.drop("/silent")
    assert redirected["status"] in ("pending", "failed") and redirected["lastStatusCode"] == 302
    assert "Redirects are not followed" in redirected["lastError"]
    assert not world.receiver.at("/moved-away/moved")
    assert timed_out["status"] in ("pending", "failed") and timed_out["lastStatusCode"] is None
    assert f"did not answer within {FAST['timeout']:g} seconds" in timed_out["lastError"]
    assert world.receiver.at("/silent")[0].status is None  # never answered: the attempt gave up
    for hook in (moved, silent):  # gone with their deliveries: later tests' messages make none for them
        deleted = await world.server.client.delete(f"/api/webhooks/{hook['id']}", headers=world.auth)
        assert deleted.status_code == 204
        assert_error(await world.server.client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=world.auth),
                     404, "not_found")
    assert await world.server.app.db.fetch_value(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id IN (?, ?)", (moved["id"], silent["id"])) == 0


async def test_an_answer_that_never_ends_is_read_only_up_to_the_cap(world):
    """A receiver that answers 200 and then streams forever: the attempt is a success once the
    status came, and the sender stops reading past ``max_response_bytes`` (64 KiB by default)
    instead of running into its timeout."""
    chatty = await world.endpoint("/endless", ["message"])
    world.receiver.endless("/endless")
    await world.fakewa.incoming(ME, "79990007730", "are you listening")

    async def delivered() -> dict | None:
        done = [d for d in await world.deliveries(chatty["id"]) if d["status"] == "delivered"]
        return done[0] if done else None

    delivery = await wait_for(delivered, timeout=30, message="the delivery to the endless receiver")
    assert delivery["lastStatusCode"] == 200 and delivery["attempts"] == 1 and delivery["lastError"] is None
    answered = world.receiver.at("/endless")
    assert len(answered) == 1 and answered[0].status == 200
    # The sender hung up after its 64 KiB: what left is what the kernel's buffers took meanwhile.
    assert answered[0].sent < 64 * 1024 * 1024, answered[0].sent
    deleted = await world.server.client.delete(f"/api/webhooks/{chatty['id']}", headers=world.auth)
    assert deleted.status_code == 204


# -- the server killed while deliveries wait ------------------------------------------------------------------
async def test_deliveries_pending_when_the_server_is_killed_go_out_after_it_restarts_and_none_twice(world):
    folder = world.folder / "killed"
    folder.mkdir()
    phone, path = "79990007720", "/killed"
    with database(world.backend, folder) as db_url:
        config = write_config(
            folder / "config.yaml", data_dir=str(folder / "data"), database={"url": db_url},
            auth={"bcrypt_rounds": 4, "jwt_secret": "w" * 40}, **wa_config(world.fakewa),
            webhooks={**FAST, "retry_for": 600, "lease": 5},
        )
        first = ServerProcess(config, cwd=folder, log=folder / "server.log")
        second = ServerProcess(config, cwd=folder, log=folder / "server.log")
        profile = None
        try:
            await first.start()
            token, user = await _register(first, "kim")
            profile = folder / "data" / "sessions" / str(user["id"])
            await link(first, world.fakewa, token, user["id"], phone, "Kim")
            made = await first.client.post("/api/webhooks", headers=bearer(token),
                                           json={"url": world.receiver.url(path), "events": ["message"]})
            assert made.status_code == 201, made.text
            hook = made.json()
            world.receiver.hold(path)  # attempts hang, unanswered, and die with the server
            chats = {"79990007721": ["kill a0", "kill a1"], "79990007722": ["kill b0", "kill b1"]}
            for n in range(2):
                for contact, texts in chats.items():
                    await world.fakewa.incoming(phone, contact, texts[n])
            await world.receiver.wait(lambda: len(world.receiver.at(path)) >= 2, message="an attempt per chat")

            async def queued() -> list | None:
                response = await first.client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=bearer(token))
                items = response.json()["items"]
                return items if len(items) == 4 else None

            assert {d["status"] for d in await wait_for(queued, message="the four deliveries")} == {"pending"}

            await first.kill()
            await wait_for(lambda: _none_running(profile), timeout=15, message="the killed server's browser to exit")
            world.receiver.drop(path)  # never answered; from now on the path answers 200
            await second.start()

            async def all_delivered() -> list | None:
                response = await second.client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=bearer(token))
                items = response.json()["items"]
                return items if len(items) == 4 and all(d["status"] == "delivered" for d in items) else None

            log = await wait_for(all_delivered, timeout=60, message="the deliveries after the restart")
            await asyncio.sleep(1.0)  # were any sent twice, it would come now
            delivered = world.receiver.delivered(path)
            assert sorted(bodies(delivered)) == sorted(t for texts in chats.values() for t in texts)
            assert sorted(r.webhook_id for r in delivered) == sorted(d["eventId"] for d in log)  # each once
            for texts in chats.values():
                assert [b for b in bodies(delivered) if b in texts] == texts  # in order per chat
            for request in delivered:
                verified(hook["secret"], request)
            unanswered = [r for r in world.receiver.at(path) if r.status is None]
            assert unanswered and {r.webhook_id for r in unanswered} <= {r.webhook_id for r in delivered}
        finally:
            world.receiver.drop(path)
            await first.stop()
            await second.stop()
            if profile is not None:
                kill_profile(profile)


async def _register(server: ServerProcess, username: str) -> tuple[str, dict]:
    response = await server.client.post("/api/auth/register", json={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()["token"], response.json()["user"]


async def _none_running(profile: Path) -> bool:
    return not profile_processes(profile)


# -- the SSRF guard ---------------------------------------------------------------------------------------
PRIVATE_URLS = (
    "http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook", "http://[::1]:{port}/hook", "https://10.0.0.7/hook",
    "http://192.168.1.20/hook", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:7f00:1]:{port}/hook",
    "http://0.0.0.0:{port}/hook", "http://[fe80::1]/hook", "http://[64:ff9b::7f00:1]/hook", "http://2130706433:{port}/hook",
    "https://user:secret@203.0.113.9/hook",
)


async def test_private_targets_are_refused_when_registering_and_when_delivering(world):
    folder = world.folder / "guarded"
    folder.mkdir()
    with database(world.backend, folder) as db_url:
        app = build_app(DEFAULT_CONFIG, overrides=test_config(folder, db_url, webhooks={"poll_interval": 0.05}),
                        environ={}, entry_points=False)
        await app.start(port=0, host="127.0.0.1")
        server = Server(app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30))
        try:
            token, user = await server.register("carol")
            port = world.receiver.port
            for url in PRIVATE_URLS:
                response = await server.client.post("/api/webhooks", headers=bearer(token), json={"url": url.format(port=port)})
                error = assert_error(response, 400, "target_not_allowed")
                assert "url" in error["fields"] and "secret" not in response.text, url
            assert await server.count("webhook_endpoints") == 0

            public = await server.client.post("/api/webhooks", headers=bearer(token),
                                              json={"url": "https://93.184.215.14/hook", "events": ["message"]})
            assert public.status_code == 201, public.text
            moved = await server.client.patch(f"/api/webhooks/{public.json()['id']}", headers=bearer(token),
                                              json={"url": world.receiver.url("/sneaky")})
            assert_error(moved, 400, "target_not_allowed")
            stored = await server.app.db.fetch_value("SELECT url FROM webhook_endpoints WHERE id = ?", (public.json()["id"],))
            assert stored == "https://93.184.215.14/hook"

            # An endpoint whose address became private (its name now resolves elsewhere, or it
            # was made while private targets were allowed) is refused at each attempt as well.
            service = server.app.state["webhooks"]
            row = await store.create_endpoint(
                server.app.db, user["id"], url=world.receiver.url("/rebound"), events=["message"], description="",
                active=True, secret_sealed=service.box.seal(new_secret()), max_per_user=100)
            await store.enqueue(server.app.db, row["id"], event_id="evt_rebound", event_type="message",
                                order_key="chat:x", payload=json.dumps({"id": "evt_rebound"}))
            service.dispatcher.nudge()

            async def refused() -> dict | None:
                [delivery] = (await server.client.get(f"/api/webhooks/{row['id']}/deliveries", headers=bearer(token))).json()["items"]
                return delivery if delivery["attempts"] >= 1 else None

            delivery = await wait_for(refused, message="an attempt at the rebound endpoint")
            assert "loopback" in delivery["lastError"] and delivery["lastStatusCode"] is None
            assert not world.receiver.at("/rebound") and not world.receiver.at("/sneaky")
        finally:
            await server.client.aclose()
            await app.stop()
