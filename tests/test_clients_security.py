"""What a session's browser must not expose to other local users and processes: no DevTools port
(anyone who can connect to it can run script in the WhatsApp page and read its device
credential), and a profile nobody else can read. Real Chromium against the simulator."""
from __future__ import annotations

import logging
import os
from typing import Iterator

import pytest

from tests.support.clients import (
    ALICE, BOB, Harness, browsers_of, listening_tcp_sockets, loose_permissions, process_args,
)

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The server runs with umask 000: whatever Chromium writes must be private all the same."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def start_until_qr(harness: Harness, key: str) -> list[int]:
    """Start a session, wait for its QR and return its browser's processes."""
    await harness.manager.start(key)
    await harness.events.wait(key, "qr")
    pids = sorted(set(harness.manager.browser_pids(key)) | set(browsers_of(harness.profiles)))
    assert len(pids) >= 3, pids  # the browser, its renderers and utilities
    return pids


async def test_the_browser_offers_no_devtools_port(harness: Harness):
    pids = await start_until_qr(harness, "1")

    assert listening_tcp_sockets(pids) == []
    assert not (harness.profile("1") / "DevToolsActivePort").exists()
    for pid in pids:
        assert not [a for a in process_args(pid) if a.startswith("--remote-debugging-port")], pid
    # The session really is driven: a page answering over the pipe reached the QR.
    assert harness.manager.status("1")["state"] == "QR"


async def test_the_profile_is_private_whatever_the_umask(permissive_umask: None, harness: Harness):
    await start_until_qr(harness, "1")
    profile = harness.profile("1")
    assert (profile / "Default").is_dir()  # Chromium has written its profile by now

    assert loose_permissions(profile) == []


async def test_no_protocol_frame_reaches_a_log_even_at_debug(harness: Harness, caplog: pytest.LogCaptureFixture):
    """Frames carry the QR (the device's keys) and message bodies: neither our connection nor
    pyppeteer's SEND/RECV debug lines may log them."""
    caplog.set_level(logging.DEBUG)
    mark = harness.events.mark()
    await harness.link("1", ALICE)
    qr = harness.events.of("1", "qr", mark)[-1]["qr"]
    body = "a private message body 7f3a9c"
    sent = await harness.manager.send_text("1", BOB, body)
    await harness.events.wait("1", "ack", lambda a: a["id"] == sent["id"] and a["ack"] >= 2)

    ours = [r for r in caplog.records if not r.name.startswith(("fakewa", "tornado"))]  # the simulator's own logs
    assert [r for r in ours if r.name.startswith("clients")], "the clients library logged nothing at DEBUG"
    text = "\n".join(r.getMessage() for r in ours)
    for secret in (body, qr, *qr.split(",")[1:4]):
        assert secret not in text
