"""The whatsapp plugin's configuration and request bodies."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from clients import chat_id_of
from server.pagination import PageSchema
from server.schemas import Timestamp

from plugins.whatsapp.media.config import MediaConfigSchema


class SendRateSchema(Schema):
    per_minute = fields.Float(load_default=20.0, validate=validate.Range(min=0.01))
    burst = fields.Integer(load_default=5, validate=validate.Range(min=1))
    jitter_seconds = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=30))


class WhatsAppConfigSchema(Schema):
    url = fields.Url(load_default="https://web.whatsapp.com/", require_tld=False)
    chromium = fields.String(load_default=None, allow_none=True)
    max_sessions = fields.Integer(load_default=20, validate=validate.Range(min=1, max=10_000))
    max_concurrent_starts = fields.Integer(load_default=2, validate=validate.Range(min=1, max=64))
    idle_timeout = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=1))
    ready_timeout = fields.Float(load_default=30.0, validate=validate.Range(min=1))
    heartbeat_interval = fields.Float(load_default=15.0, validate=validate.Range(min=0.1))
    heartbeat_timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1))
    restart_backoff_initial = fields.Float(load_default=1.0, validate=validate.Range(min=0))
    restart_backoff_max = fields.Float(load_default=60.0, validate=validate.Range(min=0))
    max_restarts = fields.Integer(load_default=5, validate=validate.Range(min=0))
    restore_on_boot = fields.Boolean(load_default=True)
    headless = fields.Boolean(load_default=True)
    send_rate = fields.Nested(SendRateSchema, load_default=lambda: SendRateSchema().load({}))
    send_queue = fields.Integer(load_default=50, validate=validate.Range(min=1, max=10_000), metadata={
        "description": "Messages waiting to leave one session, in order; past it a send gets 429."})
    media = fields.Nested(MediaConfigSchema, load_default=lambda: MediaConfigSchema().load({}))


class LocationSchema(Schema):
    latitude = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1024))


KINDS = ["image", "video", "audio", "voice", "document", "sticker"]


class SendSchema(Schema):
    """One message: a text (``message``), a file uploaded before (``mediaId``) or a place
    (``location``), each optionally a reply."""

    to = fields.String(
        required=True,
        metadata={"description": "A phone number (digits, '+', spaces, '-', '.', parentheses) or a chat id such as "
                                 "79991234567@c.us or 120363012345678@g.us."},
    )
    message = fields.String(validate=validate.Length(min=1, max=65536), metadata={"description": "The text."})
    media_id = fields.String(data_key="mediaId", validate=validate.Length(min=1, max=64), metadata={
        "description": "A file uploaded with POST /api/whatsapp/media/{user_id}."})
    caption = fields.String(validate=validate.Length(max=4096), metadata={"description": "With mediaId."})
    as_ = fields.String(data_key="as", validate=validate.OneOf(KINDS), metadata={
        "description": "With mediaId: how the file is sent (default: from its type). voice is an OGG/Opus voice note; "
                       "other audio is converted."})
    reply_to = fields.String(data_key="replyTo", validate=validate.Length(min=1, max=256), metadata={
        "description": "The id of a message of this session to reply to."})
    location = fields.Nested(LocationSchema)

    @validates("to")
    def check_to(self, value: str, **kwargs: object) -> None:
        try:
            chat_id_of(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    @validates_schema
    def one_kind(self, data: dict, **kwargs: object) -> None:
        kinds = [name for name in ("message", "media_id", "location") if data.get(name) is not None]
        if not kinds:
            raise ValidationError("Send a message, a mediaId or a location.", "message")
        if len(kinds) > 1:
            raise ValidationError("Send only one of message, mediaId or location.", "_schema")
        if "media_id" not in data:
            for name, key in (("caption", "caption"), ("as_", "as")):
                if name in data:
                    raise ValidationError("Only with mediaId.", key)


class ReactSchema(Schema):
    emoji = fields.String(required=True, validate=validate.Length(max=16), metadata={
        "description": "One emoji; an empty string takes your reaction back."})


class EditSchema(Schema):
    message = fields.String(required=True, validate=validate.Length(min=1, max=65536), metadata={
        "description": "The new text (or caption, for a media message)."})


class DeleteQuerySchema(Schema):
    for_ = fields.String(data_key="for", load_default="everyone", validate=validate.OneOf(["everyone", "me"]), metadata={
        "description": "everyone: deleted on every device (your own messages, while WhatsApp allows it); me: here only."})


class ChatsQuerySchema(PageSchema):
    pass


class MessagesQuerySchema(PageSchema):
    before = fields.String(
        load_default=None,
        metadata={"description": "Only messages older than this: an ISO 8601 time or unix seconds."},
    )


class WsMessagesSchema(MessagesQuerySchema):
    chat_id = fields.String(data_key="chatId", required=True, validate=validate.Length(min=1, max=128))


class QrQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "png"]))


# -- answers (for the OpenAPI document) -------------------------------------------

STATES = ["STOPPED", "STARTING", "QR", "CONNECTED", "DISCONNECTED", "FAILED"]


class SessionStatusSchema(Schema):
    userId = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    phone = fields.String(allow_none=True, metadata={"description": "The linked phone number, once connected."})
    pushname = fields.String(allow_none=True, metadata={"description": "The WhatsApp display name."})
    since = fields.String(allow_none=True, metadata={"description": "When the state last changed (ISO 8601)."})
    error = fields.String(allow_none=True, metadata={"description": "Why the session FAILED."})


class QrSchema(Schema):
    qr = fields.String(required=True, metadata={"description": "The raw QR payload."})
    image = fields.String(required=True, metadata={"description": "The QR code as a data:image/png;base64 URL."})


class QuotedSchema(Schema):
    """A snippet of the message another one replies to."""

    id = fields.String(required=True)
    body = fields.String(required=True)
    type = fields.String(required=True)
    fromMe = fields.Boolean(required=True)
    from_ = fields.String(data_key="from", required=True)


class MediaInfoSchema(Schema):
    mimetype = fields.String(required=True)
    filename = fields.String(required=True, allow_none=True)
    size = fields.Integer(required=True, allow_none=True, metadata={"description": "Bytes, when WhatsApp says."})
    duration = fields.Float(required=True, allow_none=True, metadata={"description": "Seconds (audio, video)."})
    width = fields.Integer(required=True, allow_none=True)
    height = fields.Integer(required=True, allow_none=True)
    thumbnail = fields.String(required=True, allow_none=True,
                              metadata={"description": "A small JPEG, base64, as WhatsApp sends it inline (images, videos)."})
    status = fields.String(required=True, validate=validate.OneOf(["remote", "ready", "expired", "error"]), metadata={
        "description": "remote: WhatsApp holds it (fetched on the first download); ready: a copy is kept here; "
                       "expired: WhatsApp no longer has it; error: it could not be fetched."})


class ReactionSchema(Schema):
    from_ = fields.String(data_key="from", required=True, metadata={"description": "Who reacted."})
    emoji = fields.String(required=True)
    fromMe = fields.Boolean(required=True)
    timestamp = fields.String(required=True)


class MessageSchema(Schema):
    id = fields.String(required=True)
    chatId = fields.String(required=True)
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    author = fields.String(required=True, allow_none=True, metadata={"description": "The sender in a group."})
    body = fields.String(required=True, metadata={"description": "The text; empty for media (see caption) and revoked messages."})
    type = fields.String(required=True, metadata={
        "description": "WhatsApp's type: chat (text), image, video, audio, ptt (voice note), document, sticker, location, revoked..."})
    fromMe = fields.Boolean(required=True)
    ack = fields.Integer(required=True, metadata={"description": "-1 error, 0 pending, 1 server, 2 delivered, 3 read."})
    timestamp = fields.String(required=True)
    caption = fields.String(required=True, allow_none=True)
    quotedId = fields.String(required=True, allow_none=True, metadata={"description": "The message this one replies to."})
    quoted = fields.Nested(QuotedSchema, required=True, allow_none=True)
    media = fields.Nested(MediaInfoSchema, required=True, allow_none=True, metadata={
        "description": "The file's bytes: GET /api/whatsapp/messages/{user_id}/{message_id}/media."})
    location = fields.Nested(LocationSchema, required=True, allow_none=True)
    edited = fields.Boolean(required=True)
    revoked = fields.Boolean(required=True, metadata={"description": "Deleted for everyone: the text and media are gone."})
    reactions = fields.List(fields.Nested(ReactionSchema), required=True)


class ChatSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    isGroup = fields.Boolean(required=True)
    unreadCount = fields.Integer(required=True)
    timestamp = fields.String(required=True)
    lastMessage = fields.Nested(MessageSchema, allow_none=True)


class AdminSessionSchema(Schema):
    user_id = fields.Integer(data_key="userId", required=True)
    username = fields.String(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    phone = fields.String(allow_none=True, metadata={"example": "79991234567"})
    since = Timestamp(allow_none=True)
    last_activity = Timestamp(data_key="lastActivity", allow_none=True)
