"""What an API key looks like, and the only thing kept of it.

A key is ``wmk_<public id>_<secret>``: ``wmk_`` says what it is (secret scanners and people
recognise it), the 8-character public id finds its row (and is shown as the key's ``prefix``),
and the 40 random characters (about 238 bits) are the secret. Only the SHA-256 of the whole key
is stored: with that much randomness a slow password hash buys nothing, and a leaked table
gives no usable key. The stored hash is compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

PREFIX = "wmk_"
PUBLIC_ID_LENGTH = 8
SECRET_LENGTH = 40
_PUBLIC_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
_SHAPE = re.compile(rf"^{PREFIX}([a-z0-9]{{{PUBLIC_ID_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})$")


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, in the answer that creates it
    public_id: str
    secret_hash: str

    @property
    def prefix(self) -> str:
        return display_prefix(self.public_id)


def display_prefix(public_id: str) -> str:
    """What lists show of a key: enough to recognise it, nothing to use it."""
    return f"{PREFIX}{public_id}"


def generate() -> NewKey:
    public_id = "".join(secrets.choice(_PUBLIC_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    key = f"{PREFIX}{public_id}_{secret}"
    return NewKey(key, public_id, digest(key))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_key(credential: str) -> bool:
    """Whether a credential is meant as one of our keys (the other plugins' kinds never start so)."""
    return credential.startswith(PREFIX)


def public_id_of(key: str) -> str | None:
    """The public id of a well-formed key, else None."""
    match = _SHAPE.match(key)
    return match.group(1) if match else None


def matches(key: str, secret_hash: str) -> bool:
    return hmac.compare_digest(digest(key), secret_hash)


def credential_id(key_id: int) -> str:
    """How the user row of a key-authenticated request names its credential, so that revoking the
    key closes the sockets opened with it (``server.ws.revoke_credential``)."""
    return f"apikey:{int(key_id)}"
