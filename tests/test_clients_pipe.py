"""The DevTools pipe: pyppeteer's connection over two pipes (``PipeConnection``) and the browser
process behind it (``BrowserProcess``).

The framing tests write the browser's side of real pipes byte by byte, which Chromium cannot be
made to do on purpose (a frame cut anywhere, several in one write, a half-written one when it
dies). The launch failures use a shell script as the browser (one that exits at once, one that
never answers); the rest is real Chromium."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
from pathlib import Path
from typing import AsyncIterator

import pytest
from pyppeteer.errors import NetworkError

from clients.browser import BrowserLaunchError, BrowserProcess, chromium_args, default_user_agent, find_chromium
from clients.cdp import PipeConnection
from tests.support.clients import browsers_of, eventually


class BrowserEnds:
    """The browser's ends of the two pipes: commands read from one, frames written to the other
    (blocking IO, in threads: a big frame fills the pipe until the connection reads it)."""

    def __init__(self, commands: int, events: int) -> None:
        self.commands, self.events = commands, events
        self._pending = b""

    async def read_command(self) -> dict:
        while b"\0" not in self._pending:
            chunk = await asyncio.to_thread(os.read, self.commands, 65536)
            assert chunk, "the connection closed its command pipe"
            self._pending += chunk
        frame, self._pending = self._pending.split(b"\0", 1)
        return json.loads(frame)

    async def write(self, data: bytes, chunk: int = 65536) -> None:
        def write_all() -> None:
            for start in range(0, len(data), chunk):
                view = memoryview(data)[start:start + chunk]
                while view:
                    view = view[os.write(self.events, view):]

        await asyncio.to_thread(write_all)

    async def commands_closed(self) -> bool:
        """Whether the connection closed its end of the command pipe (a read gives EOF)."""
        rest = await asyncio.to_thread(os.read, self.commands, 65536)
        while rest:
            rest = await asyncio.to_thread(os.read, self.commands, 65536)
        return True

    def close(self) -> None:
        for fd in (self.commands, self.events):
            with contextlib.suppress(OSError):
                os.close(fd)


def frame(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode() + b"\0"


@pytest.fixture
async def pipe() -> AsyncIterator[tuple[PipeConnection, BrowserEnds]]:
    commands_in, commands_out = os.pipe()
    events_in, events_out = os.pipe()
    connection = await PipeConnection.open(events_in, commands_out)
    end = BrowserEnds(commands_in, events_out)
    try:
        yield connection, end
    finally:
        await connection.dispose()
        end.close()


async def test_a_big_answer_in_many_chunks_and_frames_cut_anywhere(pipe):
    connection, browser = pipe
    big = connection.send("Runtime.evaluate", {"expression": "big()"})
    assert await browser.read_command() == {"id": 1, "method": "Runtime.evaluate", "params": {"expression": "big()"}}
    value = "é" * (3 << 20) + "end"  # 6 MiB of UTF-8, split inside characters too
    await browser.write(frame({"id": 1, "result": {"result": {"value": value}}}), chunk=4093)
    assert (await asyncio.wait_for(big, 30))["result"]["value"] == value

    # Two answers and an event in one write, then one frame cut right before its separator.
    events: list[dict] = []
    connection.on("Target.targetCreated", events.append)
    first, second, third = (connection.send("Target.getTargets") for _ in range(3))
    assert [(await browser.read_command())["id"] for _ in range(3)] == [2, 3, 4]
    await browser.write(frame({"id": 3, "result": {"n": 3}}) + frame({"method": "Target.targetCreated", "params": {"t": 1}})
                        + frame({"id": 2, "result": {"n": 2}}))
    last = frame({"id": 4, "result": {"n": 4}})
    await browser.write(last[:-1])
    await asyncio.sleep(0.1)
    assert not third.done()
    await browser.write(last[-1:])
    assert [(await asyncio.wait_for(f, 5))["n"] for f in (first, second, third)] == [2, 3, 4]
    assert events == [{"t": 1}]


async def test_protocol_errors_late_answers_and_bad_frames_leave_the_connection_working(pipe, caplog):
    connection, browser = pipe
    failing = connection.send("Page.navigate", {"url": "x"})
    given_up = connection.send("Runtime.evaluate", {"expression": "slow()"})
    given_up.cancel()  # a caller that stopped waiting: its late answer must not end the loop
    await browser.read_command(), await browser.read_command()
    secret = "device-secret-" + "k" * 40
    with caplog.at_level(logging.DEBUG):
        await browser.write(frame({"id": 1, "error": {"code": -32000, "message": "Cannot navigate"}})
                            + frame({"id": 2, "result": {"value": secret}})
                            + b'{"not json ' + secret.encode() + b"\0")
        with pytest.raises(NetworkError, match=r"Protocol error \(Page.navigate\): Cannot navigate"):
            await asyncio.wait_for(failing, 5)
        working = connection.send("Browser.getVersion")
        assert (await browser.read_command())["id"] == 3
        await browser.write(frame({"id": 3, "result": {"product": "Chrome/1"}}))
        assert (await asyncio.wait_for(working, 5)) == {"product": "Chrome/1"}
    assert "could not be handled (JSONDecodeError)" in caplog.text
    assert secret not in caplog.text and "not json" not in caplog.text


async def test_the_browser_exiting_ends_the_connection(pipe):
    connection, browser = pipe
    closed: list[bool] = []
    connection.setClosedCallback(lambda: closed.append(True))
    pending = connection.send("Runtime.evaluate", {"expression": "1"})
    await browser.read_command()
    await browser.write(b'{"id": 1, "resu')  # it dies half-way through a frame
    browser.close()

    with pytest.raises(NetworkError, match="Target closed"):
        await asyncio.wait_for(pending, 5)
    assert closed == [True] and not connection._connected
    with pytest.raises(ConnectionError):
        connection.send("Browser.getVersion")
    await connection.dispose()  # again, as BrowserProcess.close does: harmless
    assert closed == [True]


async def test_dispose_fails_calls_in_flight_and_closes_both_pipes(pipe):
    connection, browser = pipe
    pending = connection.send("Runtime.evaluate", {"expression": "1"})
    await browser.read_command()
    await connection.dispose()
    with pytest.raises(NetworkError, match="Target closed"):
        await pending
    assert await asyncio.wait_for(browser.commands_closed(), 5)
    with pytest.raises(BrokenPipeError):
        os.write(browser.events, b"{}\0")


# -- BrowserProcess: real launches -------------------------------------------------------------------
def fake_browser(folder: Path, script: str) -> str:
    path = folder / "fake-chromium"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return str(path)


async def test_a_browser_that_exits_at_once_says_why(tmp_path: Path):
    # It reports what the wrapper gave it: the pipes on fds 3 and 4, /dev/null around, umask 077.
    executable = fake_browser(tmp_path, 'echo "fds $(readlink /proc/$$/fd/0) $(readlink /proc/$$/fd/1)'
                                        ' $(readlink /proc/$$/fd/3) $(readlink /proc/$$/fd/4) umask $(umask)" >&2; exit 3')
    with pytest.raises(BrowserLaunchError) as raised:
        await BrowserProcess.launch(executable, tmp_path / "profiles" / "1", [f"--user-data-dir={tmp_path}/profiles/1"], timeout=10)
    found = re.fullmatch(r"Chromium exited at start \(code 3\): fds /dev/null /dev/null pipe:\[(\d+)\] pipe:\[(\d+)\] umask 0077",
                         str(raised.value))
    assert found and found[1] != found[2], str(raised.value)
    assert (tmp_path / "profiles" / "1").stat().st_mode & 0o777 == 0o700


async def test_a_browser_that_never_answers_is_killed_after_the_timeout(tmp_path: Path):
    pid_file = tmp_path / "pid"
    executable = fake_browser(tmp_path, f'echo $$ > {pid_file}; echo "fake chromium: not answering" >&2; exec sleep 60')
    profile = tmp_path / "profiles" / "1"
    with pytest.raises(BrowserLaunchError, match="did not answer on its DevTools pipe within 1s: fake chromium: not answering"):
        await BrowserProcess.launch(executable, profile, [f"--user-data-dir={profile}"], timeout=1)
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped


NOISE_JS = """() => {
  const canvas = document.createElement('canvas');
  canvas.width = 1280; canvas.height = 900;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(1280, 900);
  for (let i = 0; i < image.data.length; i++) image.data[i] = (Math.random() * 256) | 0;
  ctx.putImageData(image, 0, 0);
  document.body.style.margin = '0';
  document.body.appendChild(canvas);
}"""


@pytest.mark.browser
async def test_a_real_browser_over_the_pipe_big_results_screenshots_and_its_death(tmp_path: Path):
    profile = tmp_path / "profiles" / "1"
    args = chromium_args(profile, headless=True, user_agent=default_user_agent(142))
    process = await BrowserProcess.launch(find_chromium(), profile, args, timeout=30)
    try:
        assert process.browser is not None
        [page] = await process.browser.pages()
        text = await page.evaluate("() => 'wa'.repeat(8 * 1024 * 1024)")  # 16 MiB in one answer
        assert len(text) == 16 << 20 and set(text) == {"w", "a"}
        await page.evaluate(NOISE_JS)
        png = await page.screenshot(type="png")  # random pixels: megabytes that do not compress
        assert png.startswith(b"\x89PNG") and png.endswith(b"IEND\xaeB`\x82") and len(png) > 2 << 20

        disconnected = asyncio.Event()
        process.browser.on("disconnected", disconnected.set)
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.wait_for(disconnected.wait(), 10)
        assert await process.wait() == -signal.SIGKILL
    finally:
        await process.close(0)
    await eventually(lambda: not browsers_of(tmp_path / "profiles"), 10, "the browser's processes to be gone")

