"""Every delay of the simulator, in one place, and the generation of WhatsApp Web its page imitates.

The defaults are close to the real site's, for benchmarks; ``SimSettings.fast()`` is what tests use.
Each field is also a command-line flag of ``python -m tests.fakewa`` (``qr_interval`` → ``--qr-interval``).

Generations (``generation``): ``2026-03`` is WhatsApp Web as the driver was first written against
(message keys with ``_serialized``, phone-number ids only); ``2026-08`` is the site from build
2.3000.1042 on: keys whose id string is in a minified field (``$1``), ``@lid`` identities, messages
that arrive as ``ciphertext`` placeholders and are decrypted a moment later, and modules that moved
(see "Generations" in docs/driver.md).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


GENERATIONS = ("2026-03", "2026-08")


def setting(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class SimSettings:
    generation: str = setting(
        "2026-03", "The WhatsApp Web the page imitates.", choices=GENERATIONS,
    )
    qr_interval: float = setting(
        20.0, "Seconds each QR ref stays current before the next one replaces it."
    )
    qr_max_refs: int = setting(
        5, "Refs shown before an unscanned page goes UNPAIRED_IDLE and waits for Cmd.refreshQR()."
    )
    boot_delay: float = setting(
        0.5, "Page load until the modules are ready and ``Debug.VERSION`` is set."
    )
    connect_delay: float = setting(
        0.5, "``Debug.VERSION`` until the page opens its websocket (how long OPENING lasts)."
    )
    pair_delay: float = setting(
        1.0, "A scan until the device is linked (how long PAIRING lasts)."
    )
    sync_delay: float = setting(
        1.5, "CONNECTED until chats are synced and ``hasSynced`` is true."
    )
    ack_delay: float = setting(
        0.3, "Between the ack steps of a message: sent → 1 (server) → 2 (delivered)."
    )
    reconnect_delay: float = setting(
        2.0, "TIMEOUT or a dropped connection until the page reconnects by itself."
    )
    logout_delay: float = setting(
        0.3, "A logout until the page navigates to ``/?post_logout=1``."
    )
    sync_messages: int = setting(
        50, "Most recent messages per chat sent to a device when it syncs."
    )
    edit_window: float = setting(
        900.0, "Seconds after sending during which the sender may edit a message (WhatsApp: 15 minutes)."
    )
    revoke_window: float = setting(
        216000.0, "Seconds after sending during which the sender may delete a message for everyone (about 2.5 days)."
    )
    media_limit: int = setting(
        16 * 1024 * 1024, "Largest image, video, audio or sticker upload, in bytes (WhatsApp: 16 MB)."
    )
    document_limit: int = setting(
        2 * 1024 ** 3, "Largest document upload, in bytes (WhatsApp: 2 GB)."
    )
    pair_code_ttl: float = setting(
        195.0, "Seconds a pairing code stays valid before the page asks for a new one (WhatsApp: 3.25 minutes)."
    )
    decrypt_delay: float = setting(
        0.5, "2026-08: how long an incoming message stays a ciphertext placeholder before it is decrypted."
    )

    def __post_init__(self) -> None:
        if self.generation not in GENERATIONS:
            raise ValueError(f"generation must be one of {', '.join(GENERATIONS)}, not {self.generation!r}")

    @property
    def lids(self) -> bool:
        """Whether the page knows ``@lid`` identities (the 2026-08 site)."""
        return self.generation >= "2026-08"

    @classmethod
    def fast(cls, **overrides: Any) -> "SimSettings":
        """Timings for tests: everything in tens of milliseconds, QR refs long enough to scan."""
        values: dict[str, Any] = dict(
            qr_interval=5.0,
            qr_max_refs=3,
            boot_delay=0.0,
            connect_delay=0.1,
            pair_delay=0.05,
            sync_delay=0.05,
            ack_delay=0.05,
            reconnect_delay=0.2,
            logout_delay=0.05,
            pair_code_ttl=5.0,
            decrypt_delay=0.1,
        )
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> "SimSettings":
        return dataclasses.replace(self, **changes)

    def page_config(self) -> dict[str, Any]:
        """The part of the settings the page script needs, in milliseconds."""
        return {
            "bootDelay": int(self.boot_delay * 1000),
            "connectDelay": int(self.connect_delay * 1000),
            "reconnectDelay": int(self.reconnect_delay * 1000),
            "logoutDelay": int(self.logout_delay * 1000),
            "editWindow": self.edit_window,
            "revokeWindow": self.revoke_window,
            "mediaLimit": self.media_limit,
            "documentLimit": self.document_limit,
            "generation": self.generation,
            "pairCodeTtl": int(self.pair_code_ttl * 1000),
            "decryptDelay": int(self.decrypt_delay * 1000),
        }

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))
