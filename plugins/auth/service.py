"""Password hashing off the event loop, tokens, and login throttling."""
from __future__ import annotations

import asyncio
import secrets
from typing import Any

import bcrypt

from server.errors import Unauthorized

from plugins.auth.hashing import HashPool
from plugins.auth.throttle import LoginThrottle, RateLimit
from plugins.auth.tokens import InvalidToken, TokenService, load_or_create_secret


def _bcrypt_input(password: str) -> bytes:
    """bcrypt reads 72 bytes at most, and bcrypt 5 refuses more. New passwords are refused past
    72 bytes (``schemas.fits_bcrypt``); a longer one typed at login is cut the same way, so an
    account made before that rule still signs in."""
    return password.encode("utf-8")[:72]


class AuthService:
    def __init__(
        self, tokens: TokenService, bcrypt_rounds: int, throttle: LoginThrottle, registrations: RateLimit, workers: int
    ) -> None:
        self.tokens = tokens
        self.bcrypt_rounds = bcrypt_rounds
        self.throttle = throttle
        self.registrations = registrations
        self.hashing = HashPool(workers)  # processes, started with the first password (plugins.auth.hashing)
        self._stand_in: bytes | None = None

    @classmethod
    def from_app(cls, app: Any, *, hash_in_processes: bool = True) -> AuthService:
        """The service of ``app``'s auth settings. ``hash_in_processes=False`` hashes in a thread:
        for commands that hash one password and exit."""
        cfg = app.config["auth"]
        secret = cfg["jwt_secret"] or load_or_create_secret(app.data_dir)
        return cls(
            TokenService(secret, cfg["token_ttl_seconds"]),
            cfg["bcrypt_rounds"],
            LoginThrottle(
                per_user=cfg["login_max_failures"],
                per_address=cfg["login_max_failures_per_address"],
                global_max=cfg["login_max_failures_global"],
                window=cfg["login_window_seconds"],
            ),
            RateLimit(cfg["register_max_per_address"], cfg["register_window_seconds"]),
            cfg["hash_workers"] if hash_in_processes else 0,
        )

    def close(self) -> None:
        """Stop the hashing processes (waits until they exited)."""
        self.hashing.close()

    async def aclose(self) -> None:
        """:meth:`close` without holding up the event loop (the server's shutdown)."""
        await self.hashing.aclose()

    async def hash_password(self, password: str) -> str:
        salt = bcrypt.gensalt(self.bcrypt_rounds)
        hashed = await self.hashing.run(bcrypt.hashpw, _bcrypt_input(password), salt)
        return hashed.decode("ascii")

    async def stand_in_hash(self) -> bytes:
        """A hash of the configured cost, checked when no user matches: an unknown name then
        takes as long as a wrong password, so the time of an answer does not tell which.

        Made once, at start-up, in a thread (before the server listens): the hashing processes
        start with the first password that needs them, not for this one."""
        if self._stand_in is None:
            salt = bcrypt.gensalt(self.bcrypt_rounds)
            stand_in = await asyncio.to_thread(bcrypt.hashpw, secrets.token_urlsafe(16).encode("ascii"), salt)
            self._stand_in = self._stand_in or stand_in
        return self._stand_in

    async def check_password(self, password: str, password_hash: str | None) -> bool:
        stored = password_hash.encode("ascii") if password_hash else await self.stand_in_hash()
        ok = await self.hashing.run(bcrypt.checkpw, _bcrypt_input(password), stored)
        return ok and password_hash is not None

    def issue_token(self, user: dict[str, Any]) -> str:
        return self.tokens.issue(user)

    def decode_token(self, token: str) -> dict[str, Any]:
        try:
            return self.tokens.decode(token)
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
