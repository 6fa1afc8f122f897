"""The whatsapp plugin's configuration and request bodies."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from clients import chat_id_of
from server.pagination import PageSchema, SearchPageSchema, no_null_character
from server.schemas import Timestamp

from plugins.whatsapp.cluster.config import ClusterConfigSchema
from plugins.whatsapp.media.config import MediaConfigSchema


def has_a_word(value: str) -> None:
    if not any(ch.isalnum() for ch in value):
        raise ValidationError("Needs at least one letter or digit.")


def _not_remote_debugging(flag: str) -> None:
    if flag.startswith("--remote-debugging-"):  # a DevTools port would let any local process into the page
        raise ValidationError("Sessions are driven over a private pipe: --remote-debugging-* flags are not allowed.")


class SendRateSchema(Schema):
    per_minute = fields.Float(load_default=20.0, validate=validate.Range(min=0.01))
    burst = fields.Integer(load_default=5, validate=validate.Range(min=1))
    jitter_seconds = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=30))


class WhatsAppConfigSchema(Schema):
    url = fields.Url(load_default="https://web.whatsapp.com/", require_tld=False)
    chromium = fields.String(load_default=None, allow_none=True)
    max_sessions = fields.Integer(load_default=20, validate=validate.Range(min=1, max=10_000))
    max_concurrent_starts = fields.Integer(load_default=2, validate=validate.Range(min=1, max=64))
    idle_timeout = fields.Float(load_default=86400.0, allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "Seconds after which an unused CONNECTED session's browser stops, keeping its login "
                       "(WhatsApp keeps what arrives meanwhile); null: never."})
    link_timeout = fields.Float(load_default=180.0, allow_none=True, validate=validate.Range(min=5), metadata={
        "description": "Seconds a session may wait to be linked (QR or code showing) before it stops and frees its slot."})
    picture_ttl = fields.Float(load_default=86400.0, validate=validate.Range(min=1), metadata={
        "description": "Seconds a profile picture is kept before it is fetched again."})
    number_check_ttl = fields.Float(load_default=7 * 86400.0, validate=validate.Range(min=0), metadata={
        "description": "Seconds an answer of the number check is reused."})
    ready_timeout = fields.Float(load_default=30.0, validate=validate.Range(min=1))
    heartbeat_interval = fields.Float(load_default=15.0, validate=validate.Range(min=0.1))
    heartbeat_timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1))
    restart_backoff_initial = fields.Float(load_default=1.0, validate=validate.Range(min=0))
    restart_backoff_max = fields.Float(load_default=60.0, validate=validate.Range(min=0))
    max_restarts = fields.Integer(load_default=5, validate=validate.Range(min=0))
    restore_on_boot = fields.Boolean(load_default=True)
    headless = fields.Boolean(load_default=True)
    chromium_args = fields.List(
        fields.String(validate=[validate.Length(min=3, max=500), validate.Regexp(r"^--[a-z0-9]",
                      error="A Chromium flag starts with -- and a lowercase letter or digit."), _not_remote_debugging]),
        load_default=list, validate=validate.Length(max=50), metadata={
            "description": "Flags added to every session's Chromium (docs/benchmarks.md measures some); "
                           "--enable-features and --disable-features lists are merged with the server's own. "
                           "--remote-debugging-* flags are refused: sessions are driven over a private pipe."})
    send_rate = fields.Nested(SendRateSchema, load_default=lambda: SendRateSchema().load({}))
    send_queue = fields.Integer(load_default=50, validate=validate.Range(min=1, max=10_000), metadata={
        "description": "Messages waiting to leave one session, in order; past it a send gets 429."})
    media = fields.Nested(MediaConfigSchema, load_default=lambda: MediaConfigSchema().load({}))
    cluster = fields.Nested(ClusterConfigSchema, load_default=lambda: ClusterConfigSchema().load({}), metadata={
        "description": "Sessions shared between server processes (docs/scaling.md); off by default."})
    plugin_queue_size = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "WhatsApp events waiting for one plugin's whatsapp_event hook; past it, that plugin misses events."})


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
    client_id = fields.String(data_key="clientId", validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$", error=(
        "1 to 64 letters, digits, '_', '-', '.' or ':'.")), metadata={
        "description": "A key of the client's own for this send: a repeat of it within a day (a retry after a lost "
                       "answer) is not sent again, and answers the first send's message."})

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


class ChatsQuerySchema(SearchPageSchema):
    """``q`` keeps the chats whose name or number holds it, in any letter case."""


class SearchQuerySchema(PageSchema):
    q = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_null_character, has_a_word],
                      metadata={"description": "Words that must all appear in a message, each as a word or its start."})
    chat_id = fields.String(data_key="chatId", load_default=None, validate=validate.Length(min=1, max=128),
                            metadata={"description": "Only this chat's messages."})


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


class TimelockSchema(Schema):
    active = fields.Boolean(required=True)
    until = fields.String(required=True, allow_none=True, metadata={"description": "When WhatsApp lifts it, if it says."})


class LimitsSchema(Schema):
    reachoutTimelock = fields.Nested(TimelockSchema, required=True, metadata={
        "description": "WhatsApp refuses this account's first messages to new contacts for a while."})


class SessionStatusSchema(Schema):
    userId = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    phone = fields.String(required=True, allow_none=True, metadata={"description": "The linked phone number, once connected."})
    lid = fields.String(required=True, allow_none=True, metadata={"description": "The account's privacy id (…@lid), once connected."})
    pushname = fields.String(required=True, allow_none=True, metadata={"description": "The WhatsApp display name."})
    since = fields.String(required=True, allow_none=True, metadata={"description": "When the state last changed (ISO 8601)."})
    error = fields.String(required=True, allow_none=True, metadata={"description": "Why the session FAILED or stopped."})
    pairing = fields.Nested("PairingSchema", required=True, allow_none=True, metadata={
        "description": "The pairing code showing, while linking by phone number."})
    limits = fields.Nested(LimitsSchema, required=True, allow_none=True, metadata={
        "description": "Limits WhatsApp applies to the account now, if any."})


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
    sentBy = fields.String(required=True, allow_none=True, metadata={
        "description": "user: sent through this server's API; plugin:<name>: sent by that plugin; null: otherwise "
                       "(received, or sent from the phone)."})


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
    node = fields.String(allow_none=True, metadata={
        "description": "The cluster node running the session (docs/scaling.md); null without a cluster."})


class NodeSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The node's cluster.node_id ('local' without a cluster)."})
    url = fields.String(allow_none=True, metadata={"description": "Where the other nodes reach it (cluster.internal_url)."})
    capacity = fields.Integer(required=True, metadata={"description": "Its whatsapp.max_sessions."})
    sessions = fields.Integer(required=True, metadata={"description": "Sessions it holds a lease for (live ones without a cluster)."})
    session_ids = fields.List(fields.Integer(), data_key="sessionIds", required=True)
    heartbeat_age = fields.Float(data_key="heartbeatAge", required=True, metadata={
        "description": "Seconds since its last heartbeat (0 without a cluster)."})
    draining = fields.Boolean(required=True, metadata={"description": "Shutting down: its sessions move to other nodes."})
    current = fields.Boolean(required=True, metadata={"description": "The node that answered this request."})


# -- linking by code, people and groups ------------------------------------------------------------
def _phone(value: str) -> None:
    try:
        chat_id = chat_id_of(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if not chat_id.endswith("@c.us"):
        raise ValidationError("A phone number, country code first (like +7 999 123-45-67).")


class PairSchema(Schema):
    phone = fields.String(required=True, validate=_phone, metadata={
        "description": "The number of the phone to link, country code first (digits, '+', spaces, '-', '.', parentheses)."})


class PairingSchema(Schema):
    code = fields.String(required=True, metadata={"example": "ABCD-EFGH",
                                                  "description": "Type it on the phone: Linked devices > Link with phone number."})
    expiresAt = fields.String(required=True, allow_none=True, metadata={"description": "When WhatsApp replaces it."})


class ContactsQuerySchema(SearchPageSchema):
    """``q`` finds contacts whose name, push name or id contains it."""


class ContactSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The contact's chat id (the phone one when known)."})
    lid = fields.String(required=True, allow_none=True, metadata={"description": "Its privacy id (…@lid), when known."})
    phone = fields.String(required=True, allow_none=True, metadata={"description": "Digits, when known."})
    name = fields.String(required=True, allow_none=True, metadata={"description": "As the phone's address book has it."})
    pushname = fields.String(required=True, allow_none=True, metadata={"description": "The name they gave themselves."})
    isMyContact = fields.Boolean(required=True)
    isBusiness = fields.Boolean(required=True)


class NumberCheckSchema(Schema):
    phone = fields.String(required=True)
    exists = fields.Boolean(required=True, metadata={"description": "Whether the number is on WhatsApp."})
    id = fields.String(required=True, allow_none=True, metadata={"description": "Its chat id: send to it."})
    lid = fields.String(required=True, allow_none=True)


class GroupSchema(Schema):
    id = fields.String(required=True, metadata={"example": "120363012345678@g.us"})
    name = fields.String(required=True)
    participants = fields.Integer(required=True, metadata={"description": "How many."})
    isAdmin = fields.Boolean(required=True, metadata={"description": "Whether this session's number administers it."})
    lidMode = fields.Boolean(required=True, metadata={"description": "Members are addressed by their @lid ids."})


class ParticipantSchema(Schema):
    id = fields.String(required=True)
    lid = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    isAdmin = fields.Boolean(required=True)
    isSuperAdmin = fields.Boolean(required=True)


class GroupInfoSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    owner = fields.String(required=True, allow_none=True)
    creation = fields.Raw(required=True, allow_none=True, metadata={"description": "When it was made (unix seconds)."})
    lidMode = fields.Boolean(required=True)
    participants = fields.List(fields.Nested(ParticipantSchema), required=True)


class ParticipantResultSchema(Schema):
    id = fields.String(required=True)
    status = fields.Integer(required=True, metadata={
        "description": "WhatsApp's code: 200 done, 403 not allowed (privacy; an invite is the way), 404 not on WhatsApp, "
                       "409 already a member."})
    message = fields.String(required=True, allow_none=True)


class GroupCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    participants = fields.List(fields.String(validate=_phone), required=True, validate=validate.Length(min=1, max=256))


class GroupCreatedSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    participants = fields.List(fields.Nested(ParticipantResultSchema), required=True)


class ParticipantsChangeSchema(Schema):
    add = fields.List(fields.String(validate=_phone), load_default=list, validate=validate.Length(max=256))
    remove = fields.List(fields.String(validate=_phone), load_default=list, validate=validate.Length(max=256))

    @validates_schema
    def something(self, data: dict, **kwargs: object) -> None:
        if not data.get("add") and not data.get("remove"):
            raise ValidationError("Name someone to add or to remove.", "_schema")


class ParticipantsChangedSchema(Schema):
    add = fields.List(fields.Nested(ParticipantResultSchema), required=True)
    remove = fields.List(fields.Nested(ParticipantResultSchema), required=True)
