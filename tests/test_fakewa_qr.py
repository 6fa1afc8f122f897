"""QR refs rotate on a timer, go idle after a few, and come back with Cmd.refreshQR()."""
from __future__ import annotations

import asyncio
import base64

import pytest

from tests.fakewa import SimSettings
from tests.fakewa.probe import evaluate, open_wa, probe_log, qr_payload, wait_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

INTERVAL, REFS = 0.4, 3


@pytest.fixture
def fakewa_settings() -> SimSettings:
    return SimSettings.fast(qr_interval=INTERVAL, qr_max_refs=REFS)


async def test_refs_rotate_then_go_idle_until_refreshed(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await wait_state(page, "UNPAIRED")
    first = await qr_payload(page)
    started = asyncio.get_running_loop().time()

    await wait_state(page, "UNPAIRED_IDLE", timeout=(REFS + 2) * INTERVAL + 5)
    assert asyncio.get_running_loop().time() - started >= (REFS - 1) * INTERVAL
    refs = [e["value"] for e in await probe_log(page, "ref")]
    assert len(refs) == REFS == len(set(refs)) and all(r.startswith("2@") for r in refs)
    assert first.split(",")[0] in refs
    states = [e["value"] for e in await probe_log(page, "state")]
    assert states == ["UNPAIRED", "UNPAIRED_IDLE"]

    for part in first.split(",")[1:4]:
        assert len(part) == 44 and len(base64.b64decode(part)) == 32
    # Neither an expired ref nor the last one, once idle, links anything.
    stale = await fakewa.request("POST", "__sim/scan", {"qr": first, "phone": "79990000001"})
    assert stale.status_code == 404
    last = await qr_payload(page)
    assert (await fakewa.request("POST", "__sim/scan", {"qr": last, "phone": "79990000001"})).status_code == 404

    await page.evaluate("() => require('WAWebCmd').Cmd.refreshQR()")
    await wait_state(page, "UNPAIRED")
    for _ in range(REFS):  # a slow machine may see the ref rotate between reading and scanning
        fresh = await qr_payload(page)
        response = await fakewa.request("POST", "__sim/scan", {"qr": fresh, "phone": "79990000001"})
        if response.status_code != 404:
            break
    assert response.status_code == 200 and fresh.split(",")[0] not in refs
    await wait_state(page, "CONNECTED")
    assert await evaluate(page, "require('WAWebConnModel').Conn.ref") == fresh.split(",")[0]
