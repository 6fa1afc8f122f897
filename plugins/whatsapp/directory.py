"""Who is there: contacts, whether a number is on WhatsApp, profile pictures, and groups.

Contacts are stored when the session syncs, so the list works while the session is stopped.
Number checks and pictures ask WhatsApp and are kept for a while (``number_check_ttl``,
``picture_ttl``): WhatsApp limits how often an account may ask, and asking about many numbers
that are not on WhatsApp is itself a sign of spam. Groups are asked of the page each time.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from clients import ChatNotFound, MessageNotFound, NotConnected, SessionError, SessionManager, chat_id_of
from server.errors import ApiError, Conflict, NotFound, RateLimited
from server.files import private_dir
from server.outbound import OutboundError, fetch_to_file

from plugins.whatsapp.ingest import Ingest
from plugins.whatsapp.ratelimit import TokenBucket
from plugins.whatsapp.store import people

log = logging.getLogger("wamulti.whatsapp")

QUERIES_PER_MINUTE, QUERY_BURST = 30.0, 10  # number checks and picture lookups, per session
PICTURE_MAX_BYTES = 5 * 1024 * 1024


class Directory:
    def __init__(self, app: Any, manager: SessionManager, ingest: Ingest) -> None:
        self.app = app
        self.manager = manager
        self.ingest = ingest
        self.cfg = app.config["whatsapp"]
        self._buckets: dict[int, TokenBucket] = {}
        self._pictures: dict[tuple[int, str], asyncio.Task] = {}

    # -- contacts ---------------------------------------------------------------------------------
    async def refresh_contacts(self, user_id: int) -> int:
        """Store the page's address book (and the id pairs it reveals); how many contacts."""
        try:
            contacts = await self.manager.contacts(str(user_id))
        except SessionError as exc:
            log.info("could not read the contacts of user %s: %s", user_id, exc)
            return 0
        await self.ingest.record_lids(user_id, [{"lid": c["lid"], "phone": c["phone"]} for c in contacts
                                                if c.get("lid") and c.get("phone")])
        return await people.save_contacts(self.app.db, user_id, contacts)

    async def contacts(self, user_id: int, q: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        return await people.list_contacts(self.app.db, user_id, q, limit, offset)

    # -- numbers ----------------------------------------------------------------------------------
    async def check(self, user_id: int, phone: str) -> dict[str, Any]:
        """``{phone, exists, id, lid}``: whether ``phone`` is on WhatsApp, and its chat id."""
        digits = chat_id_of(phone).split("@", 1)[0]
        cached = await people.cached_check(self.app.db, user_id, digits, self.cfg["number_check_ttl"])
        if cached is not None:
            return cached
        self._require_connected(user_id)
        self._take(user_id)
        try:
            answer = await self.manager.check_number(str(user_id), digits)
        except NotConnected:
            raise _not_connected(self.manager, user_id) from None
        except SessionError as exc:
            raise ApiError(502, f"WhatsApp did not answer: {exc}") from None
        result = {"phone": digits, "exists": bool(answer.get("exists")), "id": answer.get("id"), "lid": answer.get("lid")}
        await people.save_check(self.app.db, user_id, digits, result)
        if result["lid"] and result["id"]:
            await self.ingest.record_lids(user_id, [{"lid": result["lid"], "phone": result["id"]}])
        return result

    # -- pictures -----------------------------------------------------------------------------------
    async def picture(self, user_id: int, chat_id: str) -> Path:
        """A kept copy of a contact's or group's profile picture, fetched when older than
        ``picture_ttl``; NotFound when it has none (or hides it)."""
        path = self._picture_path(user_id, chat_id)
        try:
            if time.time() - path.stat().st_mtime < self.cfg["picture_ttl"]:
                return path
        except FileNotFoundError:
            pass
        key = (user_id, chat_id)
        task = self._pictures.get(key)
        if task is None:  # one fetch per picture, whoever else asks meanwhile
            task = self._pictures[key] = asyncio.ensure_future(self._fetch_picture(user_id, chat_id, path))
            task.add_done_callback(lambda _: self._pictures.pop(key, None))
        return await asyncio.shield(task)

    def _picture_path(self, user_id: int, chat_id: str) -> Path:
        name = hashlib.sha256(chat_id.encode()).hexdigest()[:32]
        return Path(self.app.config.data_dir) / "media" / str(user_id) / "pictures" / name

    async def _fetch_picture(self, user_id: int, chat_id: str, path: Path) -> Path:
        if str(self.manager.status(str(user_id))["state"]) != "CONNECTED":
            if path.exists():
                return path  # an old copy is better than none while the session is stopped
            raise _not_connected(self.manager, user_id)
        self._take(user_id)
        page_id = await people.page_chat_id(self.app.db, user_id, chat_id)
        try:
            found = await self.manager.profile_picture(str(user_id), page_id)
        except NotConnected:
            if path.exists():
                return path  # an old copy is better than none while the session is stopped
            raise _not_connected(self.manager, user_id) from None
        except SessionError as exc:
            raise ApiError(502, f"WhatsApp did not answer: {exc}") from None
        if not found.get("url"):
            path.unlink(missing_ok=True)
            raise NotFound("This chat has no profile picture (or hides it).")
        media = self.cfg["media"]
        private_dir(path.parent)
        part = path.with_name(path.name + ".part")
        try:
            await fetch_to_file(found["url"], part, max_bytes=PICTURE_MAX_BYTES, timeout=media["fetch_timeout"],
                                allow_private=media["fetch_allow_private"] or media.get("fetch_private_networks") or False,
                                ca_file=media["fetch_ca_file"], allow_http=media["fetch_allow_http"])
        except OutboundError as exc:
            raise ApiError(502, f"The picture could not be fetched: {exc}") from None
        os.replace(part, path)
        return path

    # -- groups ----------------------------------------------------------------------------------------
    async def groups(self, user_id: int) -> list[dict[str, Any]]:
        return await self._ask(user_id, lambda: self.manager.groups(str(user_id)))

    async def group(self, user_id: int, group_id: str) -> dict[str, Any]:
        info = await self._ask(user_id, lambda: self.manager.group_info(str(user_id), group_id))
        for member in info.get("participants") or []:  # the page names a member's phone by its chat id
            member["phone"] = (member.get("phone") or "").split("@", 1)[0] or None
        return info

    async def create_group(self, user_id: int, name: str, participants: list[str]) -> dict[str, Any]:
        ids = [chat_id_of(p) for p in participants]
        return await self._ask(user_id, lambda: self.manager.create_group(str(user_id), name, ids))

    async def change_participants(self, user_id: int, group_id: str, add: list[str], remove: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"add": [], "remove": []}
        for action, who in (("add", add), ("remove", remove)):
            if who:
                ids = [chat_id_of(p) for p in who]
                out[action] = await self._ask(user_id, lambda: self.manager.group_participants(
                    str(user_id), group_id, action, ids))
        return out

    async def _ask(self, user_id: int, call: Any) -> Any:
        """``await call()``, its session's failures said in the API's terms."""
        try:
            self._require_connected(user_id)
            return await call()
        except NotConnected:
            raise _not_connected(self.manager, user_id) from None
        except (MessageNotFound, ChatNotFound):
            raise NotFound("No such group in this session.") from None
        except SessionError as exc:
            if "not found" in str(exc).lower() or "no such" in str(exc).lower():
                raise NotFound(f"WhatsApp says: {exc}") from None
            raise Conflict(f"WhatsApp refused: {exc}") from None

    def _require_connected(self, user_id: int) -> None:
        if str(self.manager.status(str(user_id))["state"]) != "CONNECTED":
            raise _not_connected(self.manager, user_id)

    def _take(self, user_id: int) -> None:
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = TokenBucket(QUERIES_PER_MINUTE, QUERY_BURST)
        wait = bucket.take()
        if wait > 0:
            raise RateLimited(wait, "Asking WhatsApp too often for this session; slow down.")


def _not_connected(manager: SessionManager, user_id: int) -> Conflict:
    state = str(manager.status(str(user_id))["state"])
    return Conflict("The WhatsApp session is not connected.", extra={"state": state})
