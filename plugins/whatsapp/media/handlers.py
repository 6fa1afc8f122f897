"""The media routes: upload a file to send, read one back or delete it, and download the media
of a message. ``:userId`` is the caller's own id or the caller is an admin (see ``base``)."""
from __future__ import annotations

from typing import Any

from server import access, openapi
from server.errors import ApiError
from server.handlers import authenticate, check_read_only, hard_body_cap, request_credential

from plugins.whatsapp.base import MESSAGE_ID, OTHER_USER_ERRORS, USER_ID, WhatsAppHandler
from plugins.whatsapp.media.intake import Intake, MultipartIntake, RawIntake, boundary_of, too_large
from plugins.whatsapp.media.names import clean_filename
from plugins.whatsapp.media.schemas import (
    FILE_ANSWER,
    MULTIPART_BODY,
    RAW_BODY,
    MediaSchema,
    MediaUrlSchema,
    UploadQuerySchema,
)
from plugins.whatsapp.media.serving import send_file
from plugins.whatsapp.media.storage import StoredMedia

MEDIA_ID = r"(?P<media_id>[A-Za-z0-9_-]{16,64})"
FILE_HEADERS = {
    "ETag": "The file's SHA-256, quoted; send it back as If-None-Match to get a 304.",
    "Content-Disposition": "inline for pictures, audio, video and PDF; attachment for anything else.",
    "Accept-Ranges": "bytes: a single Range is answered 206.",
}
# Any type (*/*); application/octet-stream first, the one generated clients read bytes from.
FILE_RESPONSES = {
    200: [openapi.Response(FILE_ANSWER, "The file's bytes, with its type.", media_type=media_type, headers=FILE_HEADERS)
          for media_type in ("application/octet-stream", "*/*")],
    206: [openapi.Response(FILE_ANSWER, "The requested range.", media_type=media_type,
                           headers={**FILE_HEADERS, "Content-Range": "bytes first-last/size"})
          for media_type in ("application/octet-stream", "*/*")],
    304: "The client's copy (If-None-Match) is current.",
}
RANGE_ERROR = {416: "The Range is outside the file (Content-Range: bytes */size)."}


def media_answer(media: StoredMedia) -> dict[str, Any]:
    return {"mediaId": media.media_id, "mimetype": media.mimetype, "size": media.size, "sha256": media.sha256,
            "filename": media.filename}


class UploadHandler(WhatsAppHandler):
    """The body is streamed to a temporary file while hashed (never whole in memory), with the
    connection's body limit raised to the upload's for this request only."""

    _intake: Intake | None = None

    async def prepare(self) -> None:
        if self.request.method != "POST":
            await super().prepare()
            return
        # BaseHandler.prepare, with the upload's limit instead of server.max_body_bytes (its size
        # check would refuse any upload past 16 MiB before reading it). The connection may carry
        # that much only once the caller is known to be allowed.
        self._body_chunks: list[bytes] = []
        self._body_size = 0
        self._body_too_large = False
        assert access.level_of(type(self).post) == "user"
        self.current_user = await authenticate(self.app, request_credential(self.request.headers))
        check_read_only(self.current_user, self.request.method)
        self.user_id = await self.target(self.path_kwargs["user_id"])

        header = self.request.headers.get("Content-Length", "")
        length = int(header) if header.isdigit() else None
        ctype = self.request.headers.get("Content-Type", "")
        base = ctype.split(";", 1)[0].strip().lower()
        if base == "application/json":  # a {url} body: small, read as BaseHandler reads JSON
            limit = self.config.server.max_body_bytes
            if length is not None and length > hard_body_cap(limit):
                raise ApiError(413, f"The request body is larger than {limit} bytes.")
            self._body_too_large = length is not None and length > limit
            return
        limit = self.wa.media.settings["max_upload_bytes"]
        if length is not None and length > hard_body_cap(limit):
            raise too_large(limit)
        self.request.connection.set_max_body_size(hard_body_cap(limit))
        temp = self.wa.media.files.new_temp()
        if base == "multipart/form-data":
            boundary = boundary_of(ctype)
            if boundary is None:
                temp.unlink(missing_ok=True)
                raise ApiError(400, "A multipart/form-data body needs a boundary parameter.")
            self._intake = MultipartIntake(temp, limit, boundary)
        else:
            self._intake = RawIntake(temp, limit, self.request.headers)
            if length is not None and length > limit:  # refused now, the body read and thrown away
                self._intake.fail(too_large(limit))

    def data_received(self, chunk: bytes) -> None:
        if self._intake is None:
            super().data_received(chunk)
        else:
            self._intake.feed(chunk)

    def on_connection_close(self) -> None:
        self._discard()
        super().on_connection_close()

    def on_finish(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._intake is not None and not self._intake.done:
            self._intake.discard()

    @access.user
    @openapi.doc(
        summary="Upload a file to send",
        description=(
            "Three forms: the raw file with its own Content-Type (its name from `?filename=` or a "
            "Content-Disposition header; a JSON file goes as application/octet-stream); `multipart/form-data` "
            "with a part `file`; or JSON `{url, filename?}`, "
            "an https URL the server fetches (public addresses only). The body is streamed to disk, up to "
            "`whatsapp.media.max_upload_bytes`. The type is told from the bytes: a declared type they contradict "
            "is a 422 (a generic one such as application/octet-stream takes the sniffed type). Send the answer's "
            "`mediaId` with a message."),
        body=MediaUrlSchema,
        body_types={"multipart/form-data": MULTIPART_BODY, "application/octet-stream": RAW_BODY},
        query=UploadQuerySchema,
        responses={201: openapi.Response(MediaSchema, "The file is kept.", headers={"Location": "Where to read it back."})},
        errors={**OTHER_USER_ERRORS,
                413: "Larger than whatsapp.media.max_upload_bytes, or past the user's storage quota.",
                422: "Empty, a type the bytes contradict, or a URL refused or naming no known host; `fields` names "
                     "the field when there is one.",
                502: "The URL could not be fetched (no connection, an unverified certificate, an error answer).",
                504: "The URL did not answer within whatsapp.media.fetch_timeout."},
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        args = openapi.load_query(self)
        media = self.wa.media
        if self._intake is None:
            data = openapi.load_body(self)
            stored = await media.fetch_url(self.user_id, data["url"], data.get("filename"))
        else:
            intake = self._intake
            intake.finish()
            filename = clean_filename(args["filename"]) or intake.filename
            stored = await media.add_upload(self.user_id, intake.path, sha256=intake.sha256, size=intake.size,
                                            declared=intake.declared_type, filename=filename)
        self.set_header("Location", f"/api/whatsapp/media/{self.user_id}/{stored.media_id}")
        self.write_json(media_answer(stored), status=201)


class MediaFileHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Read back an uploaded file",
        description="Served like a message's media (ranges, ETag; active types as attachments).",
        responses=FILE_RESPONSES,
        errors={**OTHER_USER_ERRORS, 404: "No such user, or no such file of theirs.", **RANGE_ERROR},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str, media_id: str) -> None:
        uid = await self.target(user_id)
        await send_file(self, await self.wa.media.get(uid, media_id))

    @access.user
    @openapi.doc(
        summary="Delete an uploaded file",
        description="Frees its room in the user's storage quota; messages already sent keep their copy on WhatsApp.",
        responses={204: None},
        errors={**OTHER_USER_ERRORS, 404: "No such user, or no such file of theirs."},
        tags=["whatsapp"],
    )
    async def delete(self, user_id: str, media_id: str) -> None:
        uid = await self.target(user_id)
        await self.wa.media.delete(uid, media_id)
        self.set_status(204)
        self.finish()


class MessageMediaHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="The media of a message",
        description=(
            "The file of an image, video, audio, voice, document or sticker message: the copy kept here, or "
            "downloaded from WhatsApp now through the connected session (then kept, within the user's quota). "
            "Pictures, audio, video and PDF are served inline; anything else as an attachment under a sandbox "
            "Content-Security-Policy. Ranges and If-None-Match are honoured."),
        responses=FILE_RESPONSES,
        errors={**OTHER_USER_ERRORS, 404: "No such user, no such message, or a message without media.",
                409: "The session is not connected and the file is not kept here.",
                410: "WhatsApp no longer has the file.",
                413: "Larger than whatsapp.media.max_download_bytes, or past the user's storage quota.",
                **RANGE_ERROR,
                502: "WhatsApp did not deliver the file; try again later."},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str, message_id: str) -> None:
        uid = await self.target(user_id)
        await send_file(self, await self.wa.media.open_for_message(uid, message_id))


default_handlers = [
    (rf"/api/whatsapp/media/{USER_ID}", UploadHandler),
    (rf"/api/whatsapp/media/{USER_ID}/{MEDIA_ID}", MediaFileHandler),
    (rf"/api/whatsapp/messages/{USER_ID}/{MESSAGE_ID}/media", MessageMediaHandler),
]
