"""`/` (the app's page, with a strict Content-Security-Policy) and `/static/webui/...` (its files).

The page renders untrusted text (message bodies, chat and user names) with ``textContent``
only; the policy is the second line of defence: no inline script, no other origin.

Media files need the Authorization header, which an ``<img src>`` or ``<audio src>`` cannot
send (and the API never takes a token from a URL): the page fetches them and shows them through
``blob:`` object URLs. Only the page's own scripts (``script-src 'self'``) can mint one, from
bytes they fetched, so ``blob:`` lets in no other origin; thumbnails come inline as ``data:``. Product and article
pictures are URLs an administrator typed: any ``https:`` image may show (an image runs no script,
and ``Referrer-Policy: no-referrer`` tells its host nothing of the page).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from tornado.web import StaticFileHandler

from server import access, openapi
from server.errors import ApiError
from server.handlers import BaseHandler

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSET_PREFIX = "/static/webui/"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(host: str) -> str:
    """The page's policy. ``connect-src`` names the websocket origin too: older browsers do not
    count ws:/wss: of the same host as 'self'. ``blob:`` is for the media the page fetched."""
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob: https:",
            "media-src blob:",
            f"connect-src 'self'{sockets}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _page_headers(handler: BaseHandler) -> None:
    handler.set_header("Content-Security-Policy", content_security_policy(handler.request.host))
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.set_header("X-Frame-Options", "DENY")
    handler.set_header("Cache-Control", "no-cache")


# What the page shows before its scripts run (or when they cannot), in the language the browser
# asks for first; the app's catalogues (static/i18n/) take over once it starts.
FIRST_PAINT = {
    "en": {"skip": "Skip to content", "loading": "Loading wamulti…",
           "noscript": "wamulti needs JavaScript turned on."},
    "ru": {"skip": "Перейти к содержимому", "loading": "Загрузка wamulti…",
           "noscript": "Для работы wamulti включите JavaScript."},
}


def preferred_language(accept_language: str | None) -> str:
    """The first of the page's languages in an ``Accept-Language`` header, by its q-values
    (RFC 9110, section 12.5.4); English when it names none of them."""
    ranked = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in FIRST_PAINT and quality > 0:
            ranked.append((-quality, position, base))
    return min(ranked)[2] if ranked else "en"


@functools.lru_cache(maxsize=len(FIRST_PAINT))
def index_page(language: str) -> bytes:
    """The page for ``language``, read and filled in once per process."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    for key, text in {"lang": language, **FIRST_PAINT[language]}.items():
        html = html.replace("{" + key + "}", text)
    return html.encode("utf-8")


class IndexHandler(BaseHandler):
    @access.public
    @openapi.doc(
        summary="The chat app",
        description="The web app of the `webui` plugin; it runs on the REST API and `/ws`.",
        responses={200: openapi.Response(description="An HTML page.", media_type="text/html")},
        tags=["webui"],
    )
    def get(self) -> None:
        _page_headers(self)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Vary", "Accept-Language")
        self.finish(index_page(preferred_language(self.request.headers.get("Accept-Language"))))


class AssetHandler(BaseHandler, StaticFileHandler):
    """The app's scripts, style sheet and icons, from plugins/webui/static/.

    Tornado's StaticFileHandler does the file work (ETag, Last-Modified, ranges, and refusing
    paths outside the folder); BaseHandler gives access checks and the JSON error shape.
    Browsers revalidate every time (``no-cache``): an ETag hit costs a 304 and an upgrade
    never leaves a stale module behind.
    """

    def initialize(self, **kwargs: Any) -> None:
        StaticFileHandler.initialize(self, path=str(STATIC_DIR))

    @access.public
    @openapi.doc(
        summary="A file of the chat app",
        responses={200: openapi.Response(description="A script, style sheet or icon.", media_type="application/octet-stream")},
        tags=["webui"],
    )
    async def get(self, path: str, include_body: bool = True) -> None:
        if path == "index.html":  # the page's template: `/` serves it, filled in
            raise ApiError(404, f"No route for {self.request.path}.")
        await StaticFileHandler.get(self, path, include_body)

    @access.public
    @openapi.doc(summary="Headers of a file of the chat app", responses={200: "The headers of the file."}, tags=["webui"])
    async def head(self, path: str) -> None:
        await self.get(path, include_body=False)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
        return 0

    def get_content_type(self) -> str:
        if self.absolute_path.endswith(".js"):
            return "text/javascript; charset=utf-8"
        if self.absolute_path.endswith(".css"):
            return "text/css; charset=utf-8"
        if self.absolute_path.endswith(".svg"):
            return "image/svg+xml"
        return super().get_content_type()


default_handlers = [
    (r"/", IndexHandler),
    (ASSET_PREFIX + r"(?P<path>[A-Za-z0-9_./-]+)", AssetHandler),
]
