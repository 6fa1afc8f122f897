"""Routes about people and groups, and linking by code: who the session knows, whether a number is
on WhatsApp, profile pictures, groups and their members, and a pairing code."""
from __future__ import annotations

import puremagic

from server import access, openapi
from server.pagination import page

from plugins.whatsapp.base import OTHER_USER_ERRORS, USER_ID, WhatsAppHandler
from plugins.whatsapp.schemas import (
    ContactSchema,
    ContactsQuerySchema,
    GroupCreatedSchema,
    GroupCreateSchema,
    GroupInfoSchema,
    GroupSchema,
    NumberCheckSchema,
    PairingSchema,
    PairSchema,
    ParticipantsChangedSchema,
    ParticipantsChangeSchema,
)

CHAT_ID = r"(?P<chat_id>[^/]{1,128})"
GROUP_ID = r"(?P<group_id>[^/]{1,128})"
LIVE_ERRORS = {**OTHER_USER_ERRORS, 409: "The session is not connected.", 502: "WhatsApp did not answer."}

PICTURE = {"type": "string", "format": "binary"}


class PairHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Link by phone number instead of a QR code",
        description="Starts the session when it is stopped and asks WhatsApp for an 8-character code for this "
        "phone number; type it on the phone (WhatsApp > Linked devices > Link a device > Link with phone number "
        "instead). WhatsApp replaces the code about every three minutes, a few times; each one comes as a "
        "`session.code` frame, and the session status shows the current one (`pairing`).",
        body=PairSchema,
        responses={202: PairingSchema},
        errors={**OTHER_USER_ERRORS, 409: "The session is linked already, or could not get ready to link.",
                429: "Too many codes asked for this session (see Retry-After).", 502: "WhatsApp gave no code.",
                503: "The session limit is reached, or no Chromium is installed."},
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        data = openapi.load_body(self)
        self.write_json(await self.wa.pair(uid, data["phone"]), status=202)


class ContactsHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="The session's contacts",
        description="The phone's address book and the people it chats with, as the session last synced them "
        "(from the database: works while the session is stopped). Named ones first.",
        query=ContactsQuerySchema,
        responses={200: openapi.list_of(ContactSchema)},
        errors=OTHER_USER_ERRORS,
        tags=["whatsapp"],
    )
    async def get(self, user_id: str) -> None:
        uid = await self.target(user_id)
        args = openapi.load_query(self)
        items, total = await self.wa.contacts(uid, args["q"], args["limit"], args["offset"])
        self.write_json(page(items, total, args))


class PictureHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="A contact's or group's profile picture",
        description="The image itself, fetched from WhatsApp on first use and kept for `whatsapp.picture_ttl`.",
        # application/octet-stream first: the type generated clients read bytes from.
        responses={200: [openapi.Response(schema=PICTURE, description="The picture, with its image type.", media_type=media_type)
                         for media_type in ("application/octet-stream", "image/*")]},
        errors={**LIVE_ERRORS, 404: "No such user, or no picture (or it is hidden from this account)."},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str, chat_id: str) -> None:
        uid = await self.target(user_id)
        path = await self.wa.picture(uid, chat_id)
        data = path.read_bytes()
        try:
            kind = puremagic.from_string(data, mime=True) or ""
        except puremagic.PureError:
            kind = ""
        self.set_header("Content-Type", kind if kind.startswith("image/") and "svg" not in kind else "application/octet-stream")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
        self.finish(data)


class CheckHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Whether a number is on WhatsApp",
        description="With its chat id (send to it) and privacy id. Answers are kept for `whatsapp.number_check_ttl`; "
        "asking about many numbers is limited like sending.",
        responses={200: NumberCheckSchema},
        errors={**LIVE_ERRORS, 422: "Not a phone number (`fields.phone` says why).",
                429: "Asking too often (see Retry-After)."},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str, phone: str) -> None:
        uid = await self.target(user_id)
        self.load(PairSchema(), {"phone": phone})  # the same rule as every number (422 with fields.phone)
        self.write_json(await self.wa.check_number(uid, phone))


class GroupsHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(summary="The session's groups", description="Asked of WhatsApp (the session must be connected).",
                 responses={200: openapi.list_of(GroupSchema)}, errors=LIVE_ERRORS, tags=["whatsapp"])
    async def get(self, user_id: str) -> None:
        uid = await self.target(user_id)
        groups = await self.wa.groups(uid)
        self.write_json({"items": groups, "total": len(groups), "limit": len(groups), "offset": 0})

    @access.user
    @openapi.doc(
        summary="Create a group",
        description="With a name and at least one member (phone numbers). Each member's result is WhatsApp's: "
        "403 means their privacy settings refuse being added (send them an invite instead).",
        body=GroupCreateSchema,
        responses={201: GroupCreatedSchema},
        errors={**LIVE_ERRORS, 409: "The session is not connected, or WhatsApp refused."},
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        data = openapi.load_body(self)
        self.write_json(await self.wa.create_group(uid, data["name"], data["participants"]), status=201)


class GroupHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(summary="A group: its description and members", responses={200: GroupInfoSchema},
                 errors={**LIVE_ERRORS, 404: "No such user, or the session is in no such group."}, tags=["whatsapp"])
    async def get(self, user_id: str, group_id: str) -> None:
        uid = await self.target(user_id)
        self.write_json(await self.wa.group(uid, group_id))


class ParticipantsHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Add and remove members of a group",
        description="This session's number must administer the group. Each person's result is WhatsApp's code.",
        body=ParticipantsChangeSchema,
        responses={200: ParticipantsChangedSchema},
        errors={**LIVE_ERRORS, 404: "No such user, or the session is in no such group.",
                409: "The session is not connected, or WhatsApp refused (not an administrator...)."},
        tags=["whatsapp"],
    )
    async def post(self, user_id: str, group_id: str) -> None:
        uid = await self.target(user_id)
        data = openapi.load_body(self)
        self.write_json(await self.wa.change_participants(uid, group_id, data["add"], data["remove"]))


default_handlers = [
    (rf"/api/whatsapp/pair/{USER_ID}", PairHandler),
    (rf"/api/whatsapp/contacts/{USER_ID}", ContactsHandler),
    (rf"/api/whatsapp/contacts/{USER_ID}/{CHAT_ID}/picture", PictureHandler),
    (rf"/api/whatsapp/check/{USER_ID}/(?P<phone>[^/]{{1,64}})", CheckHandler),
    (rf"/api/whatsapp/groups/{USER_ID}", GroupsHandler),
    (rf"/api/whatsapp/groups/{USER_ID}/{GROUP_ID}", GroupHandler),
    (rf"/api/whatsapp/groups/{USER_ID}/{GROUP_ID}/participants", ParticipantsHandler),
]
