"""An async client of the simulator's control API: what a phone and the network would do."""
from __future__ import annotations

from typing import Any

import httpx


class SimControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SimControl:
    """``await control.scan(qr, "79990000001", "Alice")`` and so on; errors raise SimControlError."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, trust_env=False)

    async def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """The raw response, for callers that check refusals themselves."""
        return await self._client.request(method, path.lstrip("/"), json=json, **kwargs)

    async def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = await self.request(method, path, json)
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            raise SimControlError(response.status_code, data.get("error", response.text))
        return data

    async def scan(self, qr: str, phone: str, pushname: str | None = None) -> dict[str, Any]:
        return await self._call("POST", "__sim/scan", {"qr": qr, "phone": phone, "pushname": pushname})

    async def incoming(self, phone: str, from_: str, body: str | None = None, pushname: str | None = None, *,
                       caption: str | None = None, media: dict[str, Any] | None = None,
                       location: dict[str, Any] | None = None, quoted_id: str | None = None) -> dict[str, Any]:
        """``from_`` sends ``phone`` a text ``body``, a file (``media {mimetype, filename?, data
        (base64), kind?}`` with a ``caption``) or a ``location``, replying to ``quoted_id`` when
        given; returns the message as ``phone`` sees it."""
        payload: dict[str, Any] = {"from": from_}
        for key, value in (("body", body), ("pushname", pushname), ("caption", caption), ("media", media),
                           ("location", location), ("quotedId", quoted_id)):
            if value is not None:
                payload[key] = value
        return (await self._call("POST", f"__sim/phones/{phone}/incoming", payload))["message"]

    async def react(self, phone: str, to: str, msg_id: str, emoji: str) -> dict[str, Any]:
        """``phone`` reacts to a message of its chat with ``to`` ("" removes its reaction)."""
        return (await self._call("POST", f"__sim/phones/{phone}/react", {"to": to, "msgId": msg_id, "emoji": emoji}))["message"]

    async def edit(self, phone: str, to: str, msg_id: str, body: str) -> dict[str, Any]:
        """``phone`` edits its own message (a text, or a caption)."""
        return (await self._call("POST", f"__sim/phones/{phone}/edit", {"to": to, "msgId": msg_id, "body": body}))["message"]

    async def revoke(self, phone: str, to: str, msg_id: str) -> dict[str, Any]:
        """``phone`` deletes its own message for everyone."""
        return (await self._call("POST", f"__sim/phones/{phone}/revoke", {"to": to, "msgId": msg_id}))["message"]

    async def media(self, sha256: str) -> bytes:
        """The exact bytes the network holds for this file."""
        response = await self.request("GET", f"__sim/media/{sha256}")
        if response.status_code >= 400:
            raise SimControlError(response.status_code, response.json().get("error", response.text))
        return response.content

    async def expire_media(self, sha256: str) -> int:
        """Every copy of the file is gone; returns how many messages carried it."""
        return (await self._call("POST", f"__sim/media/{sha256}/expire"))["messages"]

    async def messages(self, phone: str) -> list[dict[str, Any]]:
        return (await self._call("GET", f"__sim/phones/{phone}/messages"))["messages"]

    async def read(self, phone: str, chat_id: str) -> int:
        """``phone`` reads its chat ``chat_id``; returns how many messages became read (ack 3)."""
        return (await self._call("POST", f"__sim/phones/{phone}/read", {"chatId": chat_id}))["read"]

    async def logout(self, phone: str) -> int:
        return (await self._call("POST", f"__sim/phones/{phone}/logout"))["unlinked"]

    async def state(self, phone: str, state: str) -> int:
        """Impose ``state`` on the phone's open devices; returns how many were open."""
        return (await self._call("POST", f"__sim/phones/{phone}/state", {"state": state}))["devices"]

    async def devices(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "__sim/devices"))["devices"]

    async def pages(self) -> list[dict[str, Any]]:
        """The open pages, each ``{state, qr, phone}``; ``qr`` is the payload an UNPAIRED page shows."""
        return (await self._call("GET", "__sim/pages"))["pages"]

    async def phones(self) -> list[dict[str, Any]]:
        """Every phone of the network, each ``{phone, pushname, devices, online}``."""
        return (await self._call("GET", "__sim/phones"))["phones"]

    async def reset(self) -> None:
        await self._call("POST", "__sim/reset")

    # -- people and groups (control_people.py) ---------------------------------------------------
    async def phone_join(self, phone: str, pushname: str | None = None, business: bool | None = None) -> dict[str, Any]:
        """``phone`` joins WhatsApp (a phone that exists already is left as it is, but for these)."""
        payload: dict[str, Any] = {"phone": phone}
        if pushname is not None:
            payload["pushname"] = pushname
        if business is not None:
            payload["business"] = business
        return await self._call("POST", "__sim/phones", payload)

    async def phone(self, phone: str) -> dict[str, Any]:
        """``{number, lid, pushname, business, devices, contacts, lidAddressing, timelock}``."""
        return await self._call("GET", f"__sim/phones/{phone}")

    async def pair(self, phone: str, code: str, pushname: str | None = None) -> dict[str, Any]:
        """``phone`` types in the pairing code a page shows."""
        return await self._call("POST", "__sim/pair", {"phone": phone, "code": code, "pushname": pushname})

    async def lid_addressing(self, phone: str, on: bool | None) -> dict[str, Any]:
        return await self._call("POST", f"__sim/phones/{phone}/lid-addressing", {"on": on})

    async def contacts(self, phone: str, contacts: list[Any], group_add: str | None = None) -> dict[str, Any]:
        """``phone``'s address book: numbers, or ``{phone, name}``."""
        payload: dict[str, Any] = {"contacts": contacts}
        if group_add is not None:
            payload["groupAdd"] = group_add
        return await self._call("POST", f"__sim/phones/{phone}/contacts", payload)

    async def create_group(self, owner: str, name: str, participants: list[str], lid_mode: bool | None = None) -> str:
        """A group ``owner`` made with these phones; its id."""
        payload: dict[str, Any] = {"owner": owner, "name": name, "participants": participants}
        if lid_mode is not None:
            payload["lidMode"] = lid_mode
        return (await self._call("POST", "__sim/groups", payload))["id"]

    async def group(self, group_id: str) -> dict[str, Any]:
        """``{id, name, owner, lidMode, participants [{phone, lid, role}], messages}``."""
        return await self._call("GET", f"__sim/groups/{group_id}")

    async def group_message(self, group_id: str, from_: str, body: str) -> dict[str, Any]:
        return (await self._call("POST", f"__sim/groups/{group_id}/messages", {"from": from_, "body": body}))["message"]

    async def timelock(self, phone: str, seconds: float) -> dict[str, Any]:
        """The network refuses ``phone``'s first messages to new contacts for ``seconds`` (0 lifts it)."""
        return (await self._call("POST", f"__sim/phones/{phone}/timelock", {"seconds": seconds}))["timelock"]

    async def picture(self, phone: str, mimetype: str, data: str) -> None:
        """``phone``'s profile picture (``data`` in base64)."""
        await self._call("POST", f"__sim/phones/{phone}/picture", {"mimetype": mimetype, "data": data})

    async def aclose(self) -> None:
        await self._client.aclose()
