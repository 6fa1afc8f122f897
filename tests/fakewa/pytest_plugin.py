"""Fixtures for everything that talks to WhatsApp: the simulator and Chromium.

Registered by ``tests/conftest.py`` (``pytest_plugins = ["tests.fakewa.pytest_plugin"]``).

- ``fakewa``: the simulator started in-process on its fixed port (9311, or WAMULTI_FAKEWA_PORT)
  with ``fakewa_settings`` (fast timings; override that fixture to change them). It yields a
  ``SimControl`` with ``.url``, ``.sim`` (the FakeWhatsApp) and the control calls.
- ``fakewa_generation``: the generation of WhatsApp Web the page imitates, ``2026-03`` unless the
  test is marked ``all_generations`` (a module's ``pytestmark``): then the test runs once per
  generation of ``GENERATIONS``, the generation in its id (``test_x[2026-08]``), unless it is also
  marked ``no_page`` (its browser never loads the simulator's page). A test that overrides
  ``fakewa_settings`` takes ``fakewa_generation`` and passes it on.
- ``launch_browser``: a factory, ``await launch_browser(profile_dir)`` → pyppeteer Browser;
  ``await launch_browser.close(browser)`` closes one and waits for its process to exit (do that
  before reopening the same profile); the rest are closed at teardown.
"""
from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from pyppeteer.browser import Browser

from .app import FakeWhatsApp
from .browser import close_chromium, launch_chromium
from .control import SimControl
from .settings import GENERATIONS, SimSettings

DEFAULT_PORT = 9311
ALL_GENERATIONS = "all_generations"
NO_PAGE = "no_page"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{ALL_GENERATIONS}: run the test against every generation of the simulator's page")
    config.addinivalue_line("markers", f"{NO_PAGE}: the test never loads the simulator's page (run it once)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``all_generations`` that use the simulator run once per generation, but for
    those marked ``no_page`` (whose browser never loads the page: its generation cannot matter)."""
    node = metafunc.definition
    if ("fakewa_generation" in metafunc.fixturenames and node.get_closest_marker(ALL_GENERATIONS)
            and not node.get_closest_marker(NO_PAGE)):
        metafunc.parametrize("fakewa_generation", GENERATIONS, ids=list(GENERATIONS))


class RunningFakeWhatsApp(SimControl):
    """The control client of a running simulator, with the simulator itself at ``.sim``."""

    def __init__(self, sim: FakeWhatsApp) -> None:
        super().__init__(sim.url)
        self.sim = sim

    @property
    def settings(self) -> SimSettings:
        return self.sim.settings


async def start_fakewa(settings: SimSettings, port: int | None = None) -> FakeWhatsApp:
    """Start on the fixed port. If another run holds it (two developers testing at once), fall
    back to a free port: a test only needs the port to stay the same while it runs."""
    port = int(os.environ.get("WAMULTI_FAKEWA_PORT", DEFAULT_PORT)) if port is None else port
    sim = FakeWhatsApp(settings)
    try:
        await sim.start("127.0.0.1", port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        warnings.warn(f"fakewa: port {port} is busy, using a free port instead", stacklevel=1)
        await sim.start("127.0.0.1", 0)
    return sim


@pytest.fixture
def fakewa_generation() -> str:
    return GENERATIONS[0]


@pytest.fixture
def fakewa_settings(fakewa_generation: str) -> SimSettings:
    return SimSettings.fast(generation=fakewa_generation)


@pytest_asyncio.fixture
async def fakewa(fakewa_settings: SimSettings) -> AsyncIterator[RunningFakeWhatsApp]:
    sim = await start_fakewa(fakewa_settings)
    control = RunningFakeWhatsApp(sim)
    try:
        yield control
    finally:
        await control.aclose()
        await sim.stop()


class BrowserLauncher:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.browsers: list[Browser] = []

    async def __call__(self, profile_dir: str | Path | None = None, *args: str, **options: Any) -> Browser:
        if profile_dir is None:
            profile_dir = self.base_dir / f"profile-{len(self.browsers)}"
        browser = await launch_chromium(profile_dir, *args, **options)
        self.browsers.append(browser)
        return browser

    async def close(self, browser: Browser) -> None:
        if browser in self.browsers:
            self.browsers.remove(browser)
        await close_chromium(browser)

    async def close_all(self) -> None:
        while self.browsers:
            await self.close(self.browsers[-1])


@pytest_asyncio.fixture
async def launch_browser(tmp_path: Path) -> AsyncIterator[BrowserLauncher]:
    launcher = BrowserLauncher(tmp_path / "browsers")
    try:
        yield launcher
    finally:
        await launcher.close_all()
