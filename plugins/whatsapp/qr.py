"""QR payloads drawn as PNG with segno (pure Python)."""
from __future__ import annotations

import base64
import io

import segno


def qr_png(payload: str, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(payload, error="l").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def qr_data_url(payload: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(payload)).decode("ascii")
