"""The simulator without a browser: its control API, its websocket protocol with many devices at
once, and its command line."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakewa import FakeWhatsApp, SimSettings
from tests.support.fakewa_pages import ProtocolPage

ROOT = Path(__file__).resolve().parents[1]
ALICE, BOB = "79990000001", "79990000002"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "__sim/scan", {"qr": "2@gone,a,b,c,WEB", "phone": ALICE}, 404),
        ("POST", "__sim/scan", {"phone": ALICE}, 422),
        ("POST", "__sim/scan", {"qr": "2@x,a,b,c,WEB", "phone": "not-a-number"}, 422),
        ("POST", f"__sim/phones/{ALICE}/incoming", {"from": BOB}, 422),
        ("POST", f"__sim/phones/{ALICE}/incoming", {"from": "bob", "body": "hi"}, 422),
        ("POST", f"__sim/phones/{ALICE}/incoming", {"from": ALICE, "body": "hi"}, 422),
        ("GET", f"__sim/phones/{ALICE}/messages", None, 404),
        ("POST", f"__sim/phones/{ALICE}/read", {"chatId": f"{BOB}@c.us"}, 404),
        ("POST", f"__sim/phones/{ALICE}/logout", None, 404),
        ("POST", f"__sim/phones/{ALICE}/state", {"state": "CONFLICT"}, 404),
        ("POST", "__sim/phones/12/state", {"state": "CONFLICT"}, 422),
        ("GET", "__sim/nothing-here", None, 404),
        ("DELETE", "__sim/devices", None, 405),
    ],
)
async def test_control_api_refuses_bad_input_with_a_json_error(fakewa, method, path, body, status):
    response = await fakewa.request(method, path, body)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status and response.json()["error"]


async def test_state_refuses_unknown_and_unforceable_states_for_a_known_phone(fakewa):
    await fakewa.incoming(ALICE, BOB, "now both phones exist")
    for state in ("SLEEPING", "PAIRING", None):
        response = await fakewa.request("POST", f"__sim/phones/{ALICE}/state", {"state": state})
        assert response.status_code == 422, response.text
    assert await fakewa.state(ALICE, "TOS_BLOCK") == 0  # no device open: only the ban is kept
    assert fakewa.sim.network.phones[ALICE].ban == "TOS_BLOCK"


async def test_body_that_is_not_json_is_a_400(fakewa):
    response = await fakewa.request("POST", "__sim/scan", content=b"{not json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]


async def test_incoming_then_messages_and_read_from_both_sides(fakewa):
    msg = await fakewa.incoming(ALICE, BOB, "hello", pushname="Bob")
    assert msg["id"]["_serialized"] == f"false_{BOB}@c.us_{msg['id']['id']}"
    await asyncio.sleep(3 * fakewa.settings.ack_delay)
    [at_bob] = await fakewa.messages(BOB)
    assert (at_bob["id"]["fromMe"], at_bob["ack"], at_bob["chatId"]) == (True, 2, f"{ALICE}@c.us")
    assert await fakewa.read(ALICE, BOB) == 1
    assert [m["ack"] for m in await fakewa.messages(BOB)] == [3]
    await fakewa.reset()
    assert (await fakewa.request("GET", f"__sim/phones/{BOB}/messages")).status_code == 404


async def test_many_devices_at_once_message_each_other(fakewa):
    pages = [ProtocolPage(fakewa.url) for _ in range(30)]
    phones = [f"7999100{i:04d}" for i in range(len(pages))]
    await asyncio.gather(*(p.link(fakewa, phone) for p, phone in zip(pages, phones)))
    assert sum(d["online"] for d in await fakewa.devices()) == 30

    for i, page in enumerate(pages):
        nxt = phones[(i + 1) % len(phones)]
        page.send({"type": "send", "id": f"3EB0{i:016X}", "to": f"{nxt}@c.us", "body": f"from {i}", "t": 1})
    for i, page in enumerate(pages):
        while not page.bodies():
            await page.expect("event")
        assert page.bodies() == [f"from {(i - 1) % len(pages)}"]
        acks = [e["data"]["ack"] for e in page.events if e["kind"] == "ack"]
        while acks[-1:] != [2]:
            await page.expect("event")
            acks = [e["data"]["ack"] for e in page.events if e["kind"] == "ack"]
        assert acks == [1, 2]
    for page in pages:
        page.ws.close()


async def test_unconfirmed_events_are_sent_again_after_a_reconnect(fakewa):
    page = ProtocolPage(fakewa.url)
    await page.link(fakewa, ALICE)
    page.confirm = False
    for i in range(5):
        await fakewa.incoming(ALICE, BOB, f"m{i}")
    while len(page.bodies()) < 5:
        await page.expect("event")
    page.ws.close()  # gone before confirming anything
    await asyncio.sleep(0.1)
    [device] = await fakewa.devices()
    assert not device["online"] and device["pending"] == 5

    page.events, page.confirm = [], True
    await page.connect()
    await page.expect("sync")
    while len(page.bodies()) < 5:
        await page.expect("event")
    assert page.bodies() == [f"m{i}" for i in range(5)]
    await asyncio.sleep(0.1)
    assert [d["pending"] for d in await fakewa.devices()] == [0]
    page.ws.close()


async def test_devices_of_one_phone_see_each_others_messages(fakewa):
    laptop, desktop = ProtocolPage(fakewa.url), ProtocolPage(fakewa.url)
    await laptop.link(fakewa, ALICE)
    await desktop.link(fakewa, ALICE)
    laptop.send({"type": "send", "id": "3EB0000000000000AAAA", "to": f"{BOB}@c.us", "body": "from the laptop"})
    while not desktop.bodies():
        await desktop.expect("event")
    [copy] = [e["data"] for e in desktop.events if e["kind"] == "msg"]
    assert copy["msg"]["id"]["fromMe"] is True and copy["chat"]["id"] == f"{BOB}@c.us"
    # Resending the same id (a page reconnecting) does not duplicate it.
    laptop.send({"type": "send", "id": "3EB0000000000000AAAA", "to": f"{BOB}@c.us", "body": "from the laptop"})
    await asyncio.sleep(3 * fakewa.settings.ack_delay)
    assert [m["body"] for m in await fakewa.messages(BOB)] == ["from the laptop"]
    laptop.ws.close()
    desktop.ws.close()


async def test_fakewa_class_runs_with_its_own_timings_on_any_port():
    sim = FakeWhatsApp(SimSettings(), ack_delay=0.01)
    url = await sim.start("127.0.0.1", 0)
    try:
        assert sim.settings.qr_interval == 20.0 and sim.settings.ack_delay == 0.01
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(url)
        assert page.status_code == 200 and '"connectDelay": 500' in page.text
    finally:
        await sim.stop()


async def test_command_line_serves_the_page_and_stops_on_sigterm():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakewa", "--port", "0", "--fast", "--qr-interval", "7", "--generation", "2026-08",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = line.split()[1]
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(url)
            devices = await client.get(url + "__sim/devices")
        assert page.status_code == 200 and "runtime.js" in page.text and '"generation": "2026-08"' in page.text
        assert devices.json() == {"devices": [], "unpaired": 0}
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
