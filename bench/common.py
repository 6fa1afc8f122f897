"""What every figure needs: cores, child processes, wamulti servers, MariaDB databases, /proc.

Every process the bench starts is registered in :class:`Processes` and stopped by it, even when
the run fails or is interrupted; Chromium processes that a server started are found afterwards by
the bench's own working folder in their command line and killed by pid.
"""
from __future__ import annotations

import contextlib
import copy
import ctypes
import os
import re
import resource
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import yaml

from bench.load import HttpConnection, Response

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PASSWORD = "bench-password-123"
PR_SET_PDEATHSIG = 1


# -- cores ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cores:
    """The server side runs on ``server``, the load side (this process, the load generator, the
    websocket clients and the WhatsApp simulator) on ``load``; both None on a one-core machine."""

    server: frozenset[int] | None
    load: frozenset[int] | None

    @classmethod
    def plan(cls) -> Cores:
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            return cls(None, None)
        return cls(frozenset({available[0]}), frozenset({available[1]}))

    def describe(self) -> dict[str, Any]:
        if self.server is None:
            return {"pinned": False, "note": "one core: server and load generator share it"}
        return {"pinned": True, "server_cores": sorted(self.server), "load_cores": sorted(self.load or ())}


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (1,000 websockets need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _child_setup(cores: frozenset[int] | None) -> Any:
    def setup() -> None:  # runs in the child between fork and exec
        if cores:
            os.sched_setaffinity(0, cores)
        raise_nofile()
        with contextlib.suppress(Exception):  # the child ends when the bench dies, however it dies
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return setup


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


# -- child processes -----------------------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """Poll the log file until a line matches (the child writes its log there, unbuffered)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                found = regex.search(self.log_path.read_text(errors="replace"))
                if found:
                    return found
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.popen.returncode}:\n{self.tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not print /{pattern}/ within {timeout:.0f}s:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.kill()
                self.popen.wait(10)


class Processes:
    """Every child process of the run; ``stop_all`` ends them, last started first."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[Proc] = []

    def spawn(self, name: str, argv: list[str], *, cores: frozenset[int] | None, env: dict[str, str] | None = None) -> Proc:
        log_path = self.workdir / f"{name}-{len(self.procs)}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - the child owns it from here
        try:
            popen = subprocess.Popen(
                argv, cwd=ROOT, env=child_env(env), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(cores),
            )
        finally:
            log.close()
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc, timeout: float = 30.0) -> None:
        proc.stop(timeout)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self, timeout: float = 30.0) -> None:
        while self.procs:
            proc = self.procs.pop()
            with contextlib.suppress(Exception):
                proc.stop(timeout)
        kill_marked(str(self.workdir))


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process whose command line names ``marker`` (the bench's working folder,
    unique to this run): Chromium processes a server left behind."""
    killed = []
    me = os.getpid()
    for pid in _pids():
        if pid != me and marker.encode() in _cmdline(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


# -- /proc ------------------------------------------------------------------------------------------
def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _stat(pid: int) -> tuple[str, int, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2])


def memory_kb(pid: int) -> dict[str, int]:
    """PSS and USS (private clean + dirty) of a process in kB, from /proc/<pid>/smaps_rollup
    (zeros when it is gone). PSS shares each page among every process mapping it, on the whole
    machine; USS counts only the pages no other process maps."""
    out = {"pss": 0, "uss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    out["pss"] = int(line.split()[1])
                elif line.startswith((b"Private_Clean:", b"Private_Dirty:")):
                    out["uss"] += int(line.split()[1])
    except OSError:
        pass
    return out


def pss_kb(pid: int) -> int:
    """Proportional set size of a process in kB (0 when it is gone)."""
    return memory_kb(pid)["pss"]


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (a server's password hashing processes, say)."""
    found = []
    for child in _pids():
        st = _stat(child)
        if st and st[1] == pid and st[0] not in ("Z", "X"):
            found.append(child)
    return found


def chromium_processes() -> list[int]:
    """Every Chromium process on the machine (ours and anybody else's)."""
    return [pid for pid in _pids() if b"chromium" in _cmdline(pid).split(b"\0", 1)[0]]


def processes_with_arg(arg: str) -> dict[int, tuple[int, int]]:
    """Live processes started with ``arg`` (as a whole argument), with their (ppid, pgid).

    Chromium's children rewrite their title, so arguments may be separated by spaces."""
    pattern = re.compile(rb"(?:^|[\0 ])" + re.escape(arg.encode()) + rb"(?:$|[\0 ])")
    found = {}
    for pid in _pids():
        if pattern.search(_cmdline(pid)):
            st = _stat(pid)
            if st and st[0] not in ("Z", "X"):
                found[pid] = (st[1], st[2])
    return found


def browser_processes(profile: Path) -> list[int]:
    """Every live process of the Chromium that runs with ``profile``: those naming it on their
    command line, their process groups (the browser starts as a group leader) and descendants."""
    marked = processes_with_arg(f"--user-data-dir={profile}")
    if not marked:
        return []
    stats = {pid: st for pid in _pids() if (st := _stat(pid)) is not None and st[0] not in ("Z", "X")}
    groups = {pgid for _, pgid in marked.values()}
    found = set(marked) | {pid for pid, (_, _, pgid) in stats.items() if pgid in groups}
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return sorted(found)


# -- wamulti servers ----------------------------------------------------------------------------------
def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class WamultiServer:
    proc: Proc
    port: int
    data_dir: Path
    config_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def connect(self) -> HttpConnection:
        return await HttpConnection.open(HOST, self.port)


def write_config(folder: Path, db_url: str, overrides: dict[str, Any] | None = None) -> Path:
    """The repository's config.yaml with the bench's data folder, database and ``overrides``."""
    base = yaml.safe_load((ROOT / "config.yaml").read_text()) or {}
    folder.mkdir(parents=True, exist_ok=True)
    config = deep_merge(base, {"data_dir": str(folder / "data"), "database": {"url": db_url}})
    config = deep_merge(config, overrides or {})
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def wamulti_argv(config_path: Path, *args: str, profile_to: Path | None = None) -> list[str]:
    if profile_to is not None:  # the same server under pyinstrument's sampler
        return [sys.executable, "-m", "pyinstrument", "--renderer", "text", "--show-all", "-o", str(profile_to),
                "-m", "server.cli", "--config", str(config_path), *args]
    return [sys.executable, "-m", "server.cli", "--config", str(config_path), *args]


def run_cli(config_path: Path, *args: str, timeout: float = 60.0) -> str:
    """A one-shot ``wamulti`` command (migrate, create-admin) on the bench's config."""
    result = subprocess.run(
        wamulti_argv(config_path, *args), cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wamulti {' '.join(args[:1])} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def start_wamulti(
    procs: Processes, name: str, db_url: str, *, cores: frozenset[int] | None,
    overrides: dict[str, Any] | None = None, profile_to: Path | None = None, admin: bool = False,
) -> WamultiServer:
    """`wamulti serve` in a process of its own on ``cores``, with the bench's config."""
    folder = procs.workdir / name
    config_path = write_config(folder, db_url, overrides)
    if admin:
        run_cli(config_path, "create-admin", "--username", "benchadmin", "--password", PASSWORD)
    proc = procs.spawn(name, wamulti_argv(config_path, "serve", "--host", HOST, "--port", "0", profile_to=profile_to),
                       cores=cores)
    port = int(proc.wait_for_line(r"listening on http://127\.0\.0\.1:(\d+)", 90).group(1))
    return WamultiServer(proc, port, folder / "data", config_path)


def start_bare(procs: Processes, name: str, bodies: dict[str, bytes], *, cores: frozenset[int] | None) -> tuple[Proc, int]:
    """bench/serve_bare.py answering each path of ``bodies`` with those bytes."""
    folder = procs.workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    args = []
    for i, (path, body) in enumerate(bodies.items()):
        body_file = folder / f"body-{i}.json"
        body_file.write_bytes(body)
        args += ["--route", f"{path.split('?')[0]}={body_file}"]
    proc = procs.spawn(name, [sys.executable, "-m", "bench.serve_bare", "--port", "0", *args], cores=cores)
    port = int(proc.wait_for_line(r"listening on http://127\.0\.0\.1:(\d+)", 60).group(1))
    return proc, port


def start_simulator(procs: Processes, *, cores: frozenset[int] | None, fast: bool, **settings: Any) -> tuple[Proc, str]:
    """The WhatsApp simulator (tests/fakewa) in its own process, on a port that stays fixed for
    the whole run (a browser profile's origin includes it)."""
    argv = [sys.executable, "-m", "tests.fakewa", "--host", HOST, "--port", "0"]
    if fast:
        argv.append("--fast")
    for key, value in settings.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    proc = procs.spawn("fakewa", argv, cores=cores)
    url = proc.wait_for_line(r"fakewa: (http://127\.0\.0\.1:\d+/)", 60).group(1)
    return proc, url


# -- the REST API, as a client uses it ---------------------------------------------------------------
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expect(response: Response, status: int, what: str) -> Response:
    if response.status != status:
        raise RuntimeError(f"{what}: expected HTTP {status}, got {response.status}: {response.body[:300]!r}")
    return response


async def register(conn: HttpConnection, username: str) -> tuple[str, dict[str, Any]]:
    response = await conn.request("POST", "/api/auth/register", body={"username": username, "password": PASSWORD,
                                                                      "fullName": f"Bench {username}"})
    body = expect(response, 201, f"register {username}").json()
    return body["token"], body["user"]


async def login(conn: HttpConnection, username: str) -> str:
    response = await conn.request("POST", "/api/auth/login", body={"username": username, "password": PASSWORD})
    return expect(response, 200, f"login {username}").json()["token"]


# -- MariaDB --------------------------------------------------------------------------------------------
MYSQL_URL = os.environ.get("WAMULTI_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306")


@contextlib.contextmanager
def mysql_database() -> Iterator[str]:
    """A database of its own (``wamulti_bench_<random>``), dropped afterwards; yields its URL."""
    import pymysql

    parsed = urlparse(MYSQL_URL)
    server = {"host": parsed.hostname or HOST, "port": parsed.port or 3306, "user": parsed.username or "root",
              "password": parsed.password or ""}
    try:
        conn = pymysql.connect(connect_timeout=5, **server)
    except pymysql.err.OperationalError as exc:
        raise RuntimeError(f"MariaDB is not reachable at {MYSQL_URL}: {exc} (start it, or set WAMULTI_BENCH_MYSQL_URL)") from None
    name = f"wamulti_bench_{uuid.uuid4().hex[:10]}"
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        auth = server["user"] + (f":{server['password']}" if server["password"] else "")
        yield f"mysql://{auth}@{server['host']}:{server['port']}/{name}"
    finally:
        with contextlib.suppress(Exception):
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def describe_error(exc: BaseException) -> str:
    """The error of a figure (or of one of its steps) for the JSON, its traceback on stderr."""
    import traceback

    traceback.print_exception(exc)
    return f"{type(exc).__name__}: {exc}"


# -- one run ----------------------------------------------------------------------------------------
@dataclass
class Context:
    """What a figure gets: where to work, which cores, how big, whether to profile."""

    workdir: Path
    procs: Processes
    cores: Cores
    quick: bool
    profile: set[str] = field(default_factory=set)
    profile_dir: Path | None = None

    def profile_path(self, figure: str, name: str) -> Path | None:
        """Where pyinstrument writes the profile of server ``name`` when ``--profile figure``."""
        if figure not in self.profile or self.profile_dir is None:
            return None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return self.profile_dir / f"profile-{figure}-{name}.txt"
