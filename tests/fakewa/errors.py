"""The simulator's one error: a refusal with an HTTP status, written as JSON by the app."""
from __future__ import annotations


class SimError(Exception):
    """A refusal with an HTTP status, raised by the network and written as JSON by the app."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
