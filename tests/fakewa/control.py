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

    async def incoming(self, phone: str, from_: str, body: str, pushname: str | None = None) -> dict[str, Any]:
        """``from_`` sends ``body`` to ``phone``; returns the message as ``phone`` sees it."""
        payload = {"from": from_, "body": body, **({"pushname": pushname} if pushname else {})}
        return (await self._call("POST", f"__sim/phones/{phone}/incoming", payload))["message"]

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

    async def aclose(self) -> None:
        await self._client.aclose()
