"""Limits WhatsApp applies to an account, in real Chromium against both generations of the
simulator's page: the reach-out timelock (first messages to new contacts refused) in the session's
status and state events, and the refusal as SendRefused. Only SessionManager."""
from __future__ import annotations

import time

import pytest

from clients import SendRefused
from tests.support.clients import ALICE, BOB, CAROL, Harness, phone_message

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]

INACTIVE = {"reachoutTimelock": {"active": False, "until": None}}


async def test_the_reachout_timelock_refuses_first_messages_only_while_it_lasts(harness: Harness):
    manager, events, control = harness.manager, harness.events, harness.control
    await control.incoming(ALICE, BOB, "we have talked before")
    status = await harness.link("1", ALICE)
    assert status["limits"] == INACTIVE == manager.status("1")["limits"]

    mark = events.mark()
    imposed = await control.timelock(ALICE, 120)
    assert imposed["active"] is True and abs(imposed["until"] - (time.time() + 120)) < 5
    locked = await events.wait("1", "state", lambda s: (s["limits"] or {}).get("reachoutTimelock", {}).get("active"), since=mark)
    assert locked["state"] == "CONNECTED" and locked["limits"]["reachoutTimelock"]["until"] == imposed["until"]
    assert manager.status("1")["limits"] == locked["limits"]

    with pytest.raises(SendRefused) as refused:
        await manager.send_text("1", CAROL, "hello, stranger")
    assert refused.value.reason == "reachout_timelock" and refused.value.until == imposed["until"]
    assert "new contact" in str(refused.value)
    assert [m for m in await control.messages(CAROL) if m["body"] == "hello, stranger"] == []
    # Someone this account has talked to is no new contact.
    sent = await manager.send_text("1", BOB, "still fine")
    await phone_message(control, BOB, lambda m: m["id"]["id"] == sent["id"].split("_")[-1], "the message to Bob")

    mark = events.mark()
    assert (await control.timelock(ALICE, 0)) == {"active": False, "until": None}
    lifted = await events.wait("1", "state", lambda s: s["limits"] == INACTIVE, since=mark)
    assert lifted["state"] == "CONNECTED"
    welcome = await manager.send_text("1", CAROL, "hello again")
    await phone_message(control, CAROL, lambda m: m["id"]["id"] == welcome["id"].split("_")[-1], "the message to Carol")


async def test_a_timelock_that_runs_out_is_reported_over(harness: Harness):
    await harness.link("1", ALICE)
    mark = harness.events.mark()
    await harness.control.timelock(ALICE, 1.5)
    await harness.events.wait("1", "state", lambda s: s["limits"]["reachoutTimelock"]["active"], since=mark)
    over = await harness.events.wait("1", "state", lambda s: s["limits"] == INACTIVE, since=mark)
    assert over["state"] == "CONNECTED"
    await harness.manager.send_text("1", CAROL, "free again")
