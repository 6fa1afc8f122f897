"""Endpoint secrets: made in the Standard Webhooks form, kept sealed, used to sign every attempt.

A secret is ``whsec_`` and the base64 of 32 random bytes, as Standard Webhooks libraries take it.
It is shown once (when the endpoint is made or its secret rotated) and stored encrypted (Fernet:
AES-128-CBC with an HMAC) under a key derived (HKDF-SHA256) from the server's own secret,
``auth.jwt_secret`` or the one generated in ``<data_dir>/jwt_secret``: a dump of the database
alone gives no secret. A new server secret makes the stored ones unreadable; their endpoints then
fail to sign until their secret is rotated.

Signatures are made by the ``standardwebhooks`` library itself (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``), so receivers verify them
with any Standard Webhooks library.
"""
from __future__ import annotations

import base64
import secrets
from datetime import datetime, timezone
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32
_KEY_INFO = b"wamulti webhooks: endpoint secrets v1"


class SecretUnreadable(Exception):
    """A stored secret that the server's secret does not open (it changed since)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def server_secret(app: Any) -> str:
    """The secret the server signs its tokens with, which the sealing key is derived from."""
    from plugins.auth.tokens import load_or_create_secret

    configured = (app.config.get("auth") or {}).get("jwt_secret")
    return configured or load_or_create_secret(app.data_dir)


class SecretBox:
    """Seals and opens endpoint secrets with a key derived from the server's secret."""

    def __init__(self, server_secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(server_secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise SecretUnreadable("the stored secret cannot be read with this server's secret") from None


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed now."""
    timestamp = datetime.fromtimestamp(int(datetime.now(timezone.utc).timestamp()), timezone.utc)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
    }
