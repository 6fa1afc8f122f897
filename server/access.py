"""Who may call a handler method: declared on the method, checked at start-up.

    class ProductHandler(BaseHandler):
        @access.public
        async def get(self, product_id): ...

        @access.admin
        async def delete(self, product_id): ...
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

LEVELS = ("public", "user", "admin")
HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
ATTRIBUTE = "__wamulti_access__"


def _mark(level: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        setattr(fn, ATTRIBUTE, level)
        return fn

    return decorate


public = _mark("public")
user = _mark("user")  # any signed-in user (admins included)
admin = _mark("admin")


def level_of(fn: Any) -> str | None:
    return getattr(fn, ATTRIBUTE, None)


class UndeclaredAccess(Exception):
    """A handler method with no public/user/admin mark: the server refuses to start."""


def check_handlers(handlers: list[tuple[str, type]], base: type) -> None:
    """Raise when a handler defines an HTTP method that is not marked.

    Methods inherited unchanged from ``base`` or from Tornado's RequestHandler (which
    only answer 405) need no mark.
    """
    from tornado.web import RequestHandler

    problems = []
    for pattern, handler in handlers:
        for method in HTTP_METHODS:
            fn = getattr(handler, method, None)
            if fn is None or fn is getattr(base, method, None) or fn is getattr(RequestHandler, method, None):
                continue
            if level_of(fn) not in LEVELS:
                problems.append(f"{handler.__module__}.{handler.__qualname__}.{method} ({pattern})")
    if problems:
        raise UndeclaredAccess(
            "handler methods without an access level (mark them access.public, access.user or access.admin): "
            + ", ".join(problems)
        )
