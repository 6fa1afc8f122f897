"""The one error contract of docs/api.md, as exceptions that handlers raise."""
from __future__ import annotations

from typing import Any

from tornado.web import HTTPError

# HTTP status -> the `code` docs/api.md promises for it.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    416: "range_not_satisfiable",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}

DEFAULT_MESSAGES: dict[int, str] = {
    400: "Bad request.",
    401: "Authentication required.",
    403: "You may not do this.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    410: "Gone.",
    413: "Request body too large.",
    416: "Range not satisfiable.",
    422: "Validation failed.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "An upstream service failed.",
    503: "Service unavailable.",
    504: "An upstream service did not answer in time.",
}


class ApiError(HTTPError):
    """An expected failure, answered in the documented shape.

    Subclassing HTTPError keeps Tornado from logging it as a crash.
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status)
        self.message = message or DEFAULT_MESSAGES.get(status, "Error.")
        self.code = code or CODES.get(status, "error")
        self.fields = fields
        self.headers = headers or {}
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.status_code, self.message, code=self.code, fields=self.fields, extra=self.extra)


def error_body(
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    fields: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build `{"error": {...}}` for any status."""
    err: dict[str, Any] = {
        "status": status,
        "code": code or CODES.get(status, "error"),
        "message": message or DEFAULT_MESSAGES.get(status, "Error."),
    }
    if fields is not None:
        err["fields"] = fields
    if extra:
        err.update(extra)
    return {"error": err}


class NotFound(ApiError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(404, message)


class Conflict(ApiError):
    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(409, message, **kw)


class Forbidden(ApiError):
    def __init__(self, message: str = "You may not do this.") -> None:
        super().__init__(403, message)


class Unauthorized(ApiError):
    def __init__(self, message: str = "Authentication required.") -> None:
        super().__init__(401, message, headers={"WWW-Authenticate": "Bearer"})


class ValidationFailed(ApiError):
    def __init__(self, fields: dict[str, Any], message: str = "Validation failed.") -> None:
        super().__init__(422, message, fields=fields)


class RateLimited(ApiError):
    def __init__(self, retry_after: float, message: str = "Too many requests.") -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(429, message, headers={"Retry-After": str(seconds)})


class Unavailable(ApiError):
    def __init__(self, message: str = "Service unavailable.") -> None:
        super().__init__(503, message)
