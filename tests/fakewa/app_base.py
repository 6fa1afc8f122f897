"""What every handler of the control API shares: JSON in and out, refusals as
``{"error": message, "status": code}``."""
from __future__ import annotations

import json
from typing import Any

import tornado.web

from .network import Network, SimError, normalize_phone


class ControlHandler(tornado.web.RequestHandler):
    """JSON in and out; every refusal is ``{"error": message, "status": code}``."""

    def initialize(self, network: Network) -> None:
        self.network = network

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise SimError(400, f"the body must be JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SimError(400, "the body must be a JSON object")
        return data

    def phone_arg(self, phone: str) -> str:
        number = normalize_phone(phone)
        self.network.phone(number)  # 404 when unknown
        return number

    def reply(self, data: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SimError):
            status_code, message = exc.status, exc.message
            self.set_status(status_code)
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        else:
            message = self._reason
        self.reply({"error": message, "status": status_code})

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, SimError):
            super().log_exception(typ, value, tb)


def text_arg(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise SimError(422, f"{key} is required and must be a string")
    return value
