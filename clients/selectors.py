"""CSS selectors of WhatsApp Web's page, the only place they may be written.

The driver reads everything through ``bridge.js`` (modules and events), so it needs no selector
to work; these serve diagnostics, e.g. a screenshot of the QR code or of the chat list.
"""
from __future__ import annotations

QR_CODE = "div[data-ref] canvas"  # the QR code while the page is UNPAIRED
CHAT_LIST = "#pane-side"  # the chat list once CONNECTED
