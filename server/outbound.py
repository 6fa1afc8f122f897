"""Outbound HTTPS that cannot be turned against the server's own network (SSRF).

A user hands the server a URL and the server fetches it: without care, ``https://10.0.0.5/``,
``https://169.254.169.254/latest/meta-data/`` or a public name that resolves to ``127.0.0.1``
would read the server's own network on the user's behalf. :func:`fetch_to_file` therefore

- takes ``https://`` URLs only (no ``http://``, ``file://``...), without credentials in them;
- resolves the host itself and checks **every** address it resolves to: loopback, private,
  link-local, multicast, reserved and unspecified addresses, and IPv6 forms that embed one of
  those (IPv4-mapped, 6to4, NAT64), are refused unless ``allow_private`` says otherwise;
- connects to exactly the addresses it checked (a Tornado ``Resolver`` pinned to them), so a
  name cannot resolve to a public address for the check and to a private one for the
  connection (DNS rebinding); TLS is still verified against the name in the URL;
- follows redirects by hand, each hop checked the same way, at most ``max_redirects``;
- streams the body to a file while hashing it (never whole in memory) and stops past
  ``max_bytes``, refusing at once when ``Content-Length`` says so;
- gives up after ``timeout`` seconds for the whole fetch, redirects and name lookups included.

Every failure is one exception, :class:`OutboundError`, whose message is fit for the user: it
names the URL as the user (or a redirect) gave it, never an address a name resolved to.

:func:`post` sends a body the same guarded way (webhooks), following no redirect, and
:func:`check_target` refuses up front a URL that it would refuse.
"""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.httputil import HTTPInputError
from tornado.iostream import StreamClosedError
from tornado.netutil import Resolver
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
REDIRECTS = (301, 302, 303, 307, 308)
REDIRECT_BODY_LIMIT = 64 * 1024  # what a redirect may send before its Location is followed
USER_AGENT = "wamulti"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """A fetch that was refused or failed; ``str(error)`` is meant for the user.

    ``reason`` says which, for the caller to pick an answer: ``refused`` (the URL, or an
    address it resolves or redirects to, is not allowed), ``unknown_host`` (its name does not
    resolve), ``too_large`` (past ``max_bytes``), ``timeout`` and ``failed`` (the other side did
    not deliver: no connection, a certificate that does not verify, an error status...).
    """

    def __init__(self, message: str, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FetchResult:
    content_type: str | None  # as the server declared it, parameters included; None when it did not
    size: int
    sha256: str
    final_url: str  # after redirects


# -- addresses -------------------------------------------------------------------------------
def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address ("a loopback address"...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:
            return address_problem(embedded)
        if ip.is_site_local:
            return "a private address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _allowed_networks(allow_private: bool | Iterable[str | Network]) -> list[Network] | None:
    """None: nothing but public addresses; [] : every address; else the networks allowed besides public ones."""
    if allow_private is True:
        return []
    if not allow_private:
        return None
    return [ipaddress.ip_network(n, strict=False) if isinstance(n, str) else n for n in allow_private]


def _check_address(ip: IPAddress, allowed: list[Network] | None) -> str | None:
    problem = address_problem(ip)
    if problem is None or allowed == []:
        return None
    if allowed and any(ip.version == net.version and ip in net for net in allowed):
        return None
    return problem


# -- URLs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    url: str  # normalised: the host IDNA-encoded
    host: str  # as it is resolved and verified (IDNA; an IPv6 literal without brackets)
    port: int
    literal: IPAddress | None


def _parse(url: str, allow_http: bool = False) -> _Target:
    if not isinstance(url, str) or not url.strip():
        raise OutboundError("Give the URL of a file to fetch.", "refused")
    if len(url) > MAX_URL_LENGTH:
        raise OutboundError(f"The URL is longer than {MAX_URL_LENGTH} characters.", "refused")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise OutboundError("The URL holds spaces or control characters.", "refused")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundError("That is not a valid URL.", "refused") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise OutboundError("Only https:// URLs can be fetched.", "refused")
    if parts.username is not None or parts.password is not None:
        raise OutboundError("URLs with a user name or password are not accepted.", "refused")
    host = parts.hostname
    if not host:
        raise OutboundError("The URL names no host.", "refused")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise OutboundError("The URL's host name is not valid.", "refused") from None
    netloc = f"[{host}]" if literal is not None and literal.version == 6 else host
    if port is not None:
        netloc += f":{port}"
    normal = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return _Target(normal, host, port or (443 if scheme == "https" else 80), literal)


async def _resolve(target: _Target, allowed: list[Network] | None, shown: str, timeout: float) -> list[tuple[int, Any]]:
    """The (family, sockaddr) pairs to connect to, every one of them checked."""
    if target.literal is not None:
        problem = _check_address(target.literal, allowed)
        if problem:
            raise OutboundError(f"{shown} points to {problem}; only public addresses can be fetched.", "refused")
        family = socket.AF_INET6 if target.literal.version == 6 else socket.AF_INET
        sockaddr = (target.host, target.port, 0, 0) if family == socket.AF_INET6 else (target.host, target.port)
        return [(family, sockaddr)]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout
        )
    except asyncio.TimeoutError:
        raise OutboundError(f"Looking up {target.host} took too long.", "timeout") from None
    except (socket.gaierror, UnicodeError, OSError):
        raise OutboundError(f"The host {target.host} could not be found.", "unknown_host") from None
    pairs: list[tuple[int, Any]] = []
    for family, _, _, _, sockaddr in infos:
        try:
            ip = ipaddress.ip_address(sockaddr[0])
        except ValueError:
            raise OutboundError(f"The host {target.host} could not be found.", "unknown_host") from None
        problem = _check_address(ip, allowed)
        if problem:
            # Which address is not said: it is the server's view of the network, not the user's.
            raise OutboundError(f"{target.host} resolves to {problem}; only public addresses can be fetched.", "refused")
        if (family, sockaddr) not in pairs:
            pairs.append((family, sockaddr))
    if not pairs:
        raise OutboundError(f"The host {target.host} could not be found.", "unknown_host")
    return pairs


class _PinnedResolver(Resolver):
    """Answers for one host with the addresses already checked, and for no other host."""

    def initialize(self, host: str, addresses: Sequence[tuple[int, Any]]) -> None:  # type: ignore[override]
        self.host = host
        self.addresses = list(addresses)

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        if host != self.host:
            raise OSError(f"refusing to resolve {host!r}")
        found = [(f, a) for f, a in self.addresses if family == socket.AF_UNSPEC or f == family]
        if not found:
            raise OSError(f"no address of {host!r} in family {family}")
        return found


# -- one request -------------------------------------------------------------------------------
class _Stop(HTTPInputError):
    """Ends a response from inside Tornado's callbacks: only an HTTPInputError passes there
    without being logged as a crash. The reason is kept on the sink."""


class _Sink:
    """Receives one response: its status and headers, then its body (a 200's into the file).

    A problem found on the way (too large) is kept in ``problem`` and the response stopped.
    """

    def __init__(self, dest: Path, max_bytes: int, shown: str) -> None:
        self.dest = dest
        self.max_bytes = max_bytes
        self.shown = shown
        self.code = 0
        self.headers: dict[str, str] = {}
        self.size = 0
        self.sha = hashlib.sha256()
        self._file: Any = None
        self._first = True
        self.problem: OutboundError | None = None

    def stop(self, problem: OutboundError) -> None:
        self.problem = problem
        self.close()
        raise _Stop(str(problem))

    def header_line(self, line: str) -> None:
        if self._first:
            self._first = False
            parts = line.split(" ", 2)
            self.code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            return
        name, sep, value = line.partition(":")
        if sep:
            self.headers[name.strip().lower()] = value.strip()
        elif line.strip() == "" and self.code == 200:
            length = self.headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                self.stop(OutboundError(f"The file at {self.shown} is larger than {self.max_bytes} bytes.", "too_large"))
            fd = os.open(self.dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._file = os.fdopen(fd, "wb")

    def data(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.code != 200:
            if self.size > REDIRECT_BODY_LIMIT:
                self.stop(OutboundError(f"{self.shown} sent too much with its answer {self.code}.", "failed"))
            return
        if self.size > self.max_bytes:
            self.stop(OutboundError(f"The file at {self.shown} is larger than {self.max_bytes} bytes.", "too_large"))
        self.sha.update(chunk)
        self._file.write(chunk)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def _pinned_fetch(
    target: _Target, addresses: list[tuple[int, Any]], *, method: str, headers: Mapping[str, str],
    body: bytes | None, header_callback: Any, streaming_callback: Any, deadline: float, ca_file: str | None,
) -> HTTPResponse:
    """One request to exactly ``addresses`` (the checked ones: no second DNS answer is used), TLS
    verified, no redirect followed, the body handed chunk by chunk to ``streaming_callback``,
    everything within ``deadline``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HTTPTimeoutError("deadline")
    client = SimpleAsyncHTTPClient(
        force_instance=True,
        resolver=_PinnedResolver(host=target.host, addresses=addresses),
        max_header_size=64 * 1024,
        # The callbacks count the bytes and stop past their cap with a clear error; Tornado's own
        # limit would only drop the connection. It reads in 64 KiB pieces whatever a chunk declares.
        max_body_size=1 << 62,
    )
    request = HTTPRequest(
        target.url,
        method=method,
        body=body,
        headers={"User-Agent": USER_AGENT, **headers},
        follow_redirects=False,
        decompress_response=False,  # no Accept-Encoding: the bytes are the sender's own
        validate_cert=True,
        ca_certs=ca_file,
        connect_timeout=remaining,
        request_timeout=remaining,
        header_callback=header_callback,
        streaming_callback=streaming_callback,
    )
    try:
        return await client.fetch(request, raise_error=False)
    finally:
        client.close()


async def _request(
    target: _Target, addresses: list[tuple[int, Any]], sink: _Sink, *, deadline: float, ca_file: str | None
) -> HTTPResponse:
    try:
        response = await _pinned_fetch(
            target, addresses, method="GET", headers={"Accept": "*/*"}, body=None,
            header_callback=sink.header_line, streaming_callback=sink.data, deadline=deadline, ca_file=ca_file)
    except Exception:
        if sink.problem is not None:
            raise sink.problem from None
        raise
    finally:
        sink.close()
    if sink.problem is not None:
        raise sink.problem
    return response


def _failure(exc: BaseException, target: _Target, shown: str, timeout: float) -> OutboundError:
    """What went wrong, said without internals (the exception's own text may name addresses)."""
    if isinstance(exc, OutboundError):
        return exc
    if isinstance(exc, (HTTPTimeoutError, TimeoutError, asyncio.TimeoutError)):
        return OutboundError(f"{shown} did not answer within {timeout:g} seconds.", "timeout")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return OutboundError(f"The TLS certificate of {target.host} could not be verified.", "failed")
    if isinstance(exc, ssl.SSLError):
        return OutboundError(f"A TLS connection to {target.host} could not be made.", "failed")
    if isinstance(exc, HTTPInputError):
        return OutboundError(f"{target.host} did not answer in valid HTTP.", "failed")
    if isinstance(exc, (StreamClosedError, HTTPClientError, ConnectionError, OSError)):
        return OutboundError(f"Could not fetch {shown}: the connection to {target.host} failed.", "failed")
    return OutboundError(f"Could not fetch {shown}.", "failed")


# -- the fetch ---------------------------------------------------------------------------------
async def fetch_to_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool | Iterable[str | Network] = False,
    ca_file: str | None = None,
    max_redirects: int = 3,
    allow_http: bool = False,
) -> FetchResult:
    """Fetch ``url`` into ``dest`` (created 0600; removed on any failure) and describe what came.

    ``allow_private``: False, only public addresses; True, any address; a list of networks
    (``"127.0.0.0/8"``...), public addresses and those. ``ca_file``: trust this CA bundle
    instead of the system's. ``allow_http``: also plain ``http://`` (for tests against local
    servers; never on by default). Raises :class:`OutboundError`.
    """
    dest = Path(dest)
    allowed = _allowed_networks(allow_private)
    deadline = time.monotonic() + timeout
    current, hops = url, 0
    try:
        while True:
            shown = current if len(current) <= 200 else current[:197] + "..."
            target = _parse(current, allow_http)
            sink = _Sink(dest, max_bytes, shown)
            try:
                addresses = await _resolve(target, allowed, shown, max(0.0, deadline - time.monotonic()))
                response = await _request(target, addresses, sink, deadline=deadline, ca_file=ca_file)
                if response.error is not None and response.code == 599:
                    raise response.error
            except Exception as exc:  # noqa: BLE001 - every failure becomes one error for the user
                raise _failure(exc, target, shown, timeout) from None
            if sink.code in REDIRECTS:
                location = sink.headers.get("location")
                if not location:
                    raise OutboundError(f"{shown} answered {sink.code} without saying where to.", "failed")
                hops += 1
                if hops > max_redirects:
                    raise OutboundError(f"{url} redirects more than {max_redirects} times.", "refused")
                try:
                    current = urljoin(target.url, location)
                except ValueError:
                    raise OutboundError(f"{shown} redirects to an invalid URL.", "failed") from None
                continue
            if sink.code != 200:
                raise OutboundError(f"{shown} answered {sink.code} {response.reason or ''}".rstrip() + ".", "failed")
            return FetchResult(sink.headers.get("content-type") or None, sink.size, sink.sha.hexdigest(), target.url)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


# -- checking a target, and a POST that is not followed anywhere -------------------------------
async def check_target(
    url: str,
    *,
    allow_private: bool | Iterable[str | Network] = False,
    allow_http: bool = False,
    timeout: float = 5.0,
) -> None:
    """Refuse a URL that :func:`post` would refuse, sending nothing: its form, and every address
    its host is or resolves to (``allow_private`` and ``allow_http`` as for :func:`fetch_to_file`).

    Raises :class:`OutboundError`: ``refused``, or ``unknown_host`` / ``timeout`` when the name
    does not resolve now (a caller may accept those: the lookup is made again at each request).
    """
    target = _parse(url, allow_http)
    await _resolve(target, _allowed_networks(allow_private), _shown(url), timeout)


@dataclass(frozen=True)
class PostResult:
    """What the other side answered to a :func:`post`: any status (a redirect is not followed, it
    is the answer), and at most ``max_response_bytes`` of the body."""

    code: int
    reason: str
    body: bytes
    truncated: bool  # the body went on past max_response_bytes; the rest was not read


class _Capped:
    """Receives a POST's answer: the status line, then the body up to ``limit`` bytes, where it
    stops reading (the status is known by then)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.code = 0
        self.reason = ""
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self._first = True

    def header_line(self, line: str) -> None:
        if self._first:
            self._first = False
            parts = line.rstrip("\r\n").split(" ", 2)
            self.code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.reason = parts[2] if len(parts) > 2 else ""

    def data(self, chunk: bytes) -> None:
        room = self.limit - self.size
        if room > 0:
            self.chunks.append(chunk[:room])
        self.size += len(chunk)
        if self.size > self.limit:
            self.truncated = True
            raise _Stop("the answer is longer than what is read of it")

    def result(self, code: int | None = None, reason: str | None = None) -> PostResult:
        return PostResult(code or self.code, reason or self.reason, b"".join(self.chunks), self.truncated)


async def post(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    timeout: float,
    max_response_bytes: int,
    allow_private: bool | Iterable[str | Network] = False,
    allow_http: bool = False,
    ca_file: str | None = None,
) -> PostResult:
    """POST ``body`` to ``url`` once, with the guards of :func:`fetch_to_file`: every address the
    host resolves to checked (``allow_private``), the connection made to exactly those (no DNS
    rebinding), ``timeout`` seconds for everything, TLS verified. A redirect is **not** followed:
    its 3xx is the answer. At most ``max_response_bytes`` of the answer's body are read.

    Any status is a :class:`PostResult`; no answer at all (refused, unknown host, timeout, no
    connection, TLS or HTTP trouble) raises :class:`OutboundError`.
    """
    allowed = _allowed_networks(allow_private)
    deadline = time.monotonic() + timeout
    shown = _shown(url)
    target = _parse(url, allow_http)
    answer = _Capped(max_response_bytes)
    try:
        addresses = await _resolve(target, allowed, shown, timeout)
        response = await _pinned_fetch(
            target, addresses, method="POST", headers=headers, body=body,
            header_callback=answer.header_line, streaming_callback=answer.data, deadline=deadline, ca_file=ca_file)
        if response.error is not None and response.code == 599:
            raise response.error
    except Exception as exc:  # noqa: BLE001 - every failure becomes one error
        if answer.truncated and answer.code:
            return answer.result()  # the status came; the rest of a long body was not wanted
        raise _failure(exc, target, shown, timeout) from None
    return answer.result(response.code, response.reason)


def _shown(url: str) -> str:
    return url if len(url) <= 200 else url[:197] + "..."
