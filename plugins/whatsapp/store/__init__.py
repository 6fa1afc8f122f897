"""Chats, messages and session states in the database.

Everything is keyed by WhatsApp's own ids and written with upserts, so an event seen twice (a
replay after reconnecting, a sync after a crash) never duplicates a row and a late ack never
lowers a newer one.
"""
from plugins.whatsapp.store.chats import (
    api_chat,
    get_chat,
    list_chats,
    save_chat,
    save_sync,
    touch_chat_for_message,
)
from plugins.whatsapp.store.messages import (
    api_message,
    delete_message,
    get_message,
    list_messages,
    lock_message,
    reactions_of,
    save_ack,
    save_edit,
    save_message,
    save_reaction,
    save_revoke,
    set_media_status,
)
from plugins.whatsapp.store.sessions import forget_linked_phone, save_state, saved_state, sessions_to_restore

__all__ = [
    "api_chat", "api_message", "delete_message", "get_chat", "get_message", "list_chats", "list_messages", "lock_message",
    "reactions_of", "save_ack", "save_chat", "save_edit", "save_message", "save_reaction", "save_revoke",
    "forget_linked_phone", "save_state", "save_sync", "saved_state", "sessions_to_restore", "set_media_status", "touch_chat_for_message",
]
