"""JWTs (HS256) and the secret they are signed with."""
from __future__ import annotations

import logging
import os
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import jwt

from server.files import narrow, private_dir, write_private

log = logging.getLogger("wamulti.security")

ALGORITHM = "HS256"
LEEWAY = 5
CACHE_SIZE = 10_000
SECRET_FILE = "jwt_secret"


class InvalidToken(Exception):
    """The token cannot be trusted; the message is safe to show."""


def load_or_create_secret(data_dir: str | os.PathLike[str]) -> str:
    """The secret kept in ``<data_dir>/jwt_secret`` (mode 0600), made at first start."""
    path = Path(data_dir) / SECRET_FILE
    if path.exists():
        narrow(path)
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 32:
            return secret
        log.warning("%s is too short; making a new secret (existing tokens stop working)", path)
    private_dir(path.parent)
    secret = secrets.token_urlsafe(48)
    write_private(path, (secret + "\n").encode("ascii"))
    log.info("generated a JWT secret in %s", path)
    return secret


class TokenService:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        # Tokens whose signature was verified, with their claims: a client sends the same token
        # on every request, and verifying it again costs more than the rest of a small request.
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def issue(self, user: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user["id"]),
            "role": user["role"],
            "ver": int(user.get("token_version", 0)),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a valid token; InvalidToken otherwise (alg none and others refused)."""
        claims = self._verified.get(token)
        if claims is not None:
            now = time.time()
            if claims["exp"] <= now - LEEWAY:
                del self._verified[token]
                raise InvalidToken("The token has expired.")
            self._verified.move_to_end(token)
            return dict(claims)
        claims = self._decode(token)
        self._verified[token] = dict(claims)
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "exp", "iat"]},
                leeway=LEEWAY,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The token is not valid.") from None
        try:
            claims["sub"] = int(claims["sub"])
        except (TypeError, ValueError):
            raise InvalidToken("The token is not valid.") from None
        return claims
