"""System Chromium through pyppeteer, as tests run it here (never a downloaded browser)."""
from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

os.environ.setdefault("PYPPETEER_SKIP_CHROMIUM_DOWNLOAD", "1")

import pyppeteer  # noqa: E402
from pyppeteer.browser import Browser  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--disable-default-apps",
    "--disable-extensions",
    "--password-store=basic",
    "--use-mock-keychain",
    # Many pages of one browser are all "in the background"; their timers must still run.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def chromium_path() -> str:
    path = os.environ.get("WAMULTI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError("Chromium not found: install the `chromium` package or set WAMULTI_CHROMIUM")
    return path


async def launch_chromium(profile_dir: str | Path, *args: str, **options: Any) -> Browser:
    """Start Chromium with its own profile folder; the same folder later finds the same login."""
    Path(profile_dir).mkdir(parents=True, exist_ok=True)
    flags = list(CHROMIUM_ARGS) + list(args)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")
    return await pyppeteer.launch(
        executablePath=chromium_path(),
        userDataDir=str(profile_dir),
        args=flags,
        ignoreDefaultArgs=["--enable-automation"],
        handleSIGINT=False,
        handleSIGTERM=False,
        handleSIGHUP=False,
        autoClose=False,
        **options,
    )


async def close_chromium(browser: Browser, timeout: float = 10.0) -> None:
    """Close gracefully (storage is flushed) and wait until the process is gone, so the profile
    folder can be opened again or deleted. pyppeteer's close() does not wait for the exit."""
    process = browser.process
    try:
        await asyncio.wait_for(browser.close(), timeout)
    except Exception:  # a browser that already died or hangs: make sure it is gone below
        pass
    if process is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.poll() is None and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if process.poll() is None:
        process.kill()
        await loop.run_in_executor(None, process.wait)
