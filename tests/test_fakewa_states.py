"""States the network imposes on a linked page (POST /__sim/phones/{phone}/state), as the real
page shows them."""
from __future__ import annotations

import asyncio

import pytest

from tests.fakewa.probe import (
    device_online, evaluate, eventually, link_page, open_page, open_wa, probe_log, send_text,
    socket_state, wait_for, wait_state,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

ALICE, BOB = "79990000001", "79990000002"


async def states(page) -> list[str]:
    return [e["value"] for e in await probe_log(page, "state")]


async def test_conflict_holds_until_takeover(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    linked = await link_page(page, fakewa, ALICE)

    assert await fakewa.state(ALICE, "CONFLICT") == 1
    await wait_state(page, "CONFLICT")
    await fakewa.incoming(ALICE, BOB, "while in conflict")
    await asyncio.sleep(3 * fakewa.settings.reconnect_delay)
    assert await socket_state(page) == "CONFLICT"  # it does not come back by itself
    assert not await device_online(fakewa, linked["device"])

    await page.evaluate("() => require('WAWebSocketModel').Socket.takeover()")
    await wait_state(page, "CONNECTED")
    await wait_for(page, "window.__probe.some((e) => e.ev === 'msg' && e.msg.body === 'while in conflict')")
    assert (await states(page))[-2:] == ["CONFLICT", "CONNECTED"]


async def test_a_second_tab_of_the_same_profile_puts_the_first_in_conflict(fakewa, launch_browser):
    first = await open_wa(launch_browser, fakewa.url)
    await link_page(first, fakewa, ALICE)
    second = await open_page(first.browser, fakewa.url, new_tab=True)
    await wait_state(second, "CONNECTED")
    await wait_state(first, "CONFLICT")
    assert len(await fakewa.devices()) == 1


async def test_tos_block_stays_blocked(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    linked = await link_page(page, fakewa, ALICE)

    assert await fakewa.state(ALICE, "TOS_BLOCK") == 1
    await wait_state(page, "TOS_BLOCK")
    await asyncio.sleep(3 * fakewa.settings.reconnect_delay)
    assert await socket_state(page) == "TOS_BLOCK"
    assert not await device_online(fakewa, linked["device"])

    await page.reload()  # the ban belongs to the account, not to the page
    await wait_state(page, "TOS_BLOCK")
    assert await states(page) == ["TOS_BLOCK"]


async def test_timeout_reconnects_by_itself_and_loses_nothing(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)

    assert await fakewa.state(ALICE, "TIMEOUT") == 1
    await wait_state(page, "TIMEOUT")
    # While it is away: a message comes in, and the user sends one.
    await fakewa.incoming(ALICE, BOB, "while away")
    sent = await send_text(page, f"{BOB}@c.us", "queued")
    assert sent["ack"] == 0

    await wait_state(page, "CONNECTED")
    assert (await states(page))[-2:] == ["TIMEOUT", "CONNECTED"]
    await wait_for(page, "window.__probe.some((e) => e.ev === 'msg' && e.msg.body === 'while away')")
    await wait_for(page, f"require('WAWebCollections').Msg.get('{sent['id']['_serialized']}').ack === 2")
    assert [m["body"] for m in await fakewa.messages(BOB) if not m["id"]["fromMe"]] == ["queued"]
    assert await evaluate(page, "require('WAWebCollections').Msg.length") == 2


@pytest.mark.parametrize("state", ["PROXYBLOCK", "DEPRECATED_VERSION"])
async def test_other_imposed_states_end_the_session(fakewa, launch_browser, state):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    await fakewa.state(ALICE, state)
    await wait_state(page, state)
    await asyncio.sleep(2 * fakewa.settings.reconnect_delay)
    assert await socket_state(page) == state
    await eventually(lambda: no_device_online(fakewa), what="the device to go offline")


async def no_device_online(fakewa) -> bool:
    return not any(d["online"] for d in await fakewa.devices())
