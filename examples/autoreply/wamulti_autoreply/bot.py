"""The bot: for a message a person sent, the answer of the first matching keyword rule or, outside
office hours, the away message; at most one answer per chat per ``window_seconds``."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from server.whatsapp_api import whatsapp

from wamulti_autoreply import store
from wamulti_autoreply.hours import is_open
from wamulti_autoreply.matching import answerable, matches, message_text

PLUGIN = "autoreply"  # the entry point's name: messages it sends carry sentBy "plugin:autoreply"

log = logging.getLogger("wamulti.autoreply")


async def handle(app: Any, user_id: int, event: dict[str, Any]) -> None:
    """Answer ``event`` if it is a message the bot should answer. A failure to send is raised (the
    server logs it with the plugin's name and hands over the next event)."""
    config = app.config[PLUGIN]
    now = datetime.now(timezone.utc)
    message = answerable(event, now=now, max_age_seconds=config["max_age_seconds"])
    if message is None:
        return
    answer = await choose_answer(app, user_id, message, now)
    if answer is None:
        return
    text, quote = answer
    chat_id, claimed_at = message["chatId"], int(now.timestamp())
    if not await store.claim_window(app.db, user_id, chat_id, claimed_at, config["window_seconds"]):
        return  # answered within the window
    try:
        await whatsapp(app).send_text(user_id, chat_id, text, reply_to=message["id"] if quote else None, plugin=PLUGIN)
    except Exception:
        await store.release_window(app.db, user_id, chat_id, claimed_at)
        raise


async def choose_answer(app: Any, user_id: int, message: dict[str, Any], now: datetime) -> tuple[str, bool] | None:
    """``(text, quote the message)``: a keyword rule's reply (quoted), else the away message when
    it is on and the user is outside office hours, else None."""
    rule = first_matching_rule(user_id, await store.active_rules(app.db, user_id), message_text(message))
    if rule is not None:
        return rule["reply"], True
    away = await store.get_away(app.db, user_id)
    if away["enabled"] and away["message"] and not is_open(away["hours"], away["timezone"], now):
        return away["message"], False
    return None


def first_matching_rule(user_id: int, rules: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The first rule ``text`` matches. A rule that cannot be applied (it raises) is logged and
    skipped: the next rules, and every other message and user, are answered as usual."""
    if not text:
        return None
    for rule in rules:
        try:
            if matches(rule, text):
                return rule
        except Exception:  # noqa: BLE001 - one broken rule must not silence the others
            log.exception("plugin %s: rule %s of user %s cannot be applied; trying the next rule", PLUGIN, rule["id"], user_id)
    return None
