"""Media files of WhatsApp messages: uploads to send, voice notes, and the media of messages.

- ``service``: ``MediaService``, the façade the WhatsApp service makes and the routes use;
- ``storage``: files under ``<data_dir>/media/<user id>/`` and the ``wa_media`` table, quota and retention;
- ``intake``: upload bodies streamed to disk; ``types``: what a file is, from its bytes;
- ``voice``: OGG/Opus voice notes through ffmpeg; ``serving``: files answered safely;
- ``handlers``: the routes (``default_handlers``); ``config``: the ``whatsapp.media`` settings.
"""
from plugins.whatsapp.media.service import MediaFile, MediaService, Outgoing

__all__ = ["MediaFile", "MediaService", "Outgoing"]
