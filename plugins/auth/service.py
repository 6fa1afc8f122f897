"""Password hashing off the event loop, tokens, and login throttling."""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bcrypt

from server.errors import Unauthorized

from plugins.auth.tokens import InvalidToken, TokenService, load_or_create_secret

# Compared against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = bcrypt.hashpw(b"wamulti-dummy-password", bcrypt.gensalt(4))


def _bcrypt_input(password: str) -> bytes:
    """bcrypt reads 72 bytes at most, and bcrypt 5 refuses more: cut the same way on both sides."""
    return password.encode("utf-8")[:72]


class LoginThrottle:
    """At most ``max_failures`` wrong logins per username within ``window`` seconds.

    Kept in memory per process, bounded to ``max_names`` usernames (least recent dropped).
    """

    def __init__(self, max_failures: int, window: float, max_names: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_names = max_names
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, username: str) -> float:
        """Seconds to wait before trying again, or 0 when a login may be tried."""
        key = username.lower()
        now = time.monotonic()
        times = self._recent(key, now)
        if len(times) < self.max_failures:
            return 0.0
        return times[0] + self.window - now

    def failed(self, username: str) -> None:
        key = username.lower()
        now = time.monotonic()
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_names:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username.lower(), None)


class AuthService:
    def __init__(self, tokens: TokenService, bcrypt_rounds: int, throttle: LoginThrottle, workers: int) -> None:
        self.tokens = tokens
        self.bcrypt_rounds = bcrypt_rounds
        self.throttle = throttle
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bcrypt")

    @classmethod
    def from_app(cls, app: Any) -> AuthService:
        cfg = app.config["auth"]
        secret = cfg["jwt_secret"] or load_or_create_secret(app.data_dir)
        return cls(
            TokenService(secret, cfg["token_ttl_seconds"]),
            cfg["bcrypt_rounds"],
            LoginThrottle(cfg["login_max_failures"], cfg["login_window_seconds"]),
            cfg["hash_workers"],
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def hash_password(self, password: str) -> str:
        salt = bcrypt.gensalt(self.bcrypt_rounds)
        loop = asyncio.get_running_loop()
        hashed = await loop.run_in_executor(self._executor, bcrypt.hashpw, _bcrypt_input(password), salt)
        return hashed.decode("ascii")

    async def check_password(self, password: str, password_hash: str | None) -> bool:
        stored = password_hash.encode("ascii") if password_hash else _DUMMY_HASH
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(self._executor, bcrypt.checkpw, _bcrypt_input(password), stored)
        return ok and password_hash is not None

    def issue_token(self, user: dict[str, Any]) -> str:
        return self.tokens.issue(user)

    def decode_token(self, token: str) -> dict[str, Any]:
        try:
            return self.tokens.decode(token)
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
