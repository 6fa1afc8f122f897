"""Linking without a QR: a pairing code the phone types in, in real Chromium against both
generations of the simulator's page. WhatsApp Web's own lifecycle: a code lives pair_code_ttl
(3.25 minutes on the real site), the page says when it is up and the session asks for the next
one, five times; then code_expired until asked again. Only SessionManager."""
from __future__ import annotations

import re
import time

import pytest

from clients import ActionRefused, InvalidChatId, PairingUnavailable
from tests.fakewa import SimControlError, SimSettings
from tests.support.clients import ALICE, BOB, Harness, eventually

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")  # Crockford base32


async def until_qr(harness: Harness, key: str = "1") -> None:
    mark = harness.events.mark()
    await harness.manager.start(key)
    await harness.events.wait(key, "qr", since=mark)


async def test_a_code_typed_in_on_the_phone_links_the_session(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.control.phone_join(ALICE, "Alice")
    await until_qr(harness)
    before = time.time()
    answer = await manager.request_pairing_code("1", f"+{ALICE}")
    assert CODE.match(answer["code"]), answer
    ttl = harness.control.settings.pair_code_ttl
    assert before + ttl - 2 <= answer["expiresAt"] <= time.time() + ttl + 2
    assert (await events.wait("1", "code")) == answer
    assert await manager.request_pairing_code("1", ALICE) == answer  # the same phone: the code showing
    assert len(events.of("1", "code")) == 1
    assert manager.status("1")["state"] == "QR"
    assert manager.status("1")["pairing"] == answer  # a page opened now shows it too

    await harness.control.pair(ALICE, answer["code"].replace("-", "").lower(), "Alice")
    connected = await events.state("1", "CONNECTED")
    assert connected["phone"] == ALICE and connected["pushname"] == "Alice"
    await events.wait("1", "sync")
    assert events.of("1", "code_expired") == [] and events.of("1", "code_error") == []
    assert manager.status("1")["pairing"] is None
    with pytest.raises(PairingUnavailable):  # linked: no more codes
        await manager.request_pairing_code("1", ALICE)
    sent = await manager.send_text("1", BOB, "linked by code")
    assert sent["fromMe"] is True


async def test_wrong_codes_and_other_phones_are_refused(harness: Harness):
    await harness.control.phone_join(ALICE)
    await until_qr(harness)
    code = (await harness.manager.request_pairing_code("1", ALICE))["code"]
    for phone, typed in ((ALICE, "ZZZZ-ZZZZ"), (BOB, code), (ALICE, "not a code")):
        with pytest.raises(SimControlError) as refused:
            await harness.control.pair(phone, typed)
        assert refused.value.status == 404, (phone, typed)
    assert harness.manager.status("1")["state"] == "QR"
    # A new code (another phone asked for) replaces the old one.
    await harness.control.phone_join(BOB)
    other = (await harness.manager.request_pairing_code("1", BOB))["code"]
    assert other != code
    with pytest.raises(SimControlError):
        await harness.control.pair(ALICE, code)
    await harness.control.pair(BOB, other)
    assert (await harness.events.state("1", "CONNECTED"))["phone"] == BOB


async def test_requests_need_a_session_showing_a_qr_and_a_number(harness: Harness):
    manager = harness.manager
    with pytest.raises(PairingUnavailable, match="STOPPED"):
        await manager.request_pairing_code("1", ALICE)
    with pytest.raises(InvalidChatId):
        await manager.request_pairing_code("1", "12")
    await until_qr(harness)
    # A number not on WhatsApp: no code, and the page says why.
    with pytest.raises(ActionRefused, match="not on WhatsApp"):
        await manager.request_pairing_code("1", "79995550000")
    error = await harness.events.wait("1", "code_error")
    assert "not on WhatsApp" in error["message"]
    assert manager.status("1")["state"] == "QR"  # the QR still works
    await harness.link("2", ALICE)
    with pytest.raises(PairingUnavailable, match="CONNECTED"):
        await manager.request_pairing_code("2", ALICE)


class TestShortCodes:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, pair_code_ttl=0.4)

    async def test_five_renewals_then_expired_until_asked_again(self, harness: Harness):
        manager, events = harness.manager, harness.events
        await harness.control.phone_join(ALICE)
        await until_qr(harness)
        first = await manager.request_pairing_code("1", ALICE)
        await events.wait("1", "code_expired")
        codes = [e["code"] for e in events.of("1", "code")]
        assert codes[0] == first["code"] and len(codes) == 6 == len(set(codes))  # the first, renewed five times
        assert all(CODE.match(c) for c in codes)
        for code in codes:  # none works any more
            with pytest.raises(SimControlError) as refused:
                await harness.control.pair(ALICE, code)
            assert refused.value.status == 404
        assert manager.status("1")["state"] == "QR"

        mark = events.mark()
        again = await manager.request_pairing_code("1", ALICE)  # a manual request starts over
        assert again["code"] not in codes and events.of("1", "code", mark) == [again]
        await harness.control.pair(ALICE, again["code"])
        await events.state("1", "CONNECTED", since=mark)
        assert len(events.of("1", "code_expired")) == 1


class TestLinkTimeoutWithACode:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, pair_code_ttl=0.5)

    async def test_a_code_does_not_keep_an_unlinked_session(self, make_harness):
        harness = make_harness(link_timeout=3.0)
        await harness.control.phone_join(ALICE)
        await until_qr(harness)
        await harness.manager.request_pairing_code("1", ALICE)
        stopped = await harness.events.state("1", "STOPPED")
        assert stopped["error"].startswith("not linked within 3 s")
        await eventually(lambda: harness.manager.live_count() == 0, 5, "the place to be freed")
