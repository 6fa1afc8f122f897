"""Upload bodies, streamed to a temporary file while hashed: never whole in memory.

Tornado hands the body over chunk by chunk (``data_received``); an intake writes each chunk
straight to its file. A raw body is the file itself; a ``multipart/form-data`` body is parsed
as it streams (python-multipart), its part ``file`` written out and nothing else accepted.
Past the limit the file is deleted and the rest of the body is read and thrown away, so the
client still gets its 413. Nothing here raises while the body streams (Tornado would drop the
connection): the problem is kept and raised by :meth:`Intake.finish`.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from server.errors import ApiError

from plugins.whatsapp.media.names import clean_filename, from_disposition

log = logging.getLogger("wamulti.whatsapp.media")


class TempWriter:
    """An open temporary file, hashed and counted as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()/discard()
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self._file.write(data)
        self.size += len(data)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"The file is larger than {limit} bytes, the most this server takes.")


class Intake:
    """A body on its way to a file. After :meth:`finish`: ``path``, ``sha256``, ``size``,
    ``declared_type`` and ``filename`` (either may be None); the file then belongs to the caller."""

    declared_type: str | None = None
    filename: str | None = None

    def __init__(self, path: Path, limit: int) -> None:
        self.limit = limit
        self.writer: TempWriter | None = TempWriter(path)
        self.problem: ApiError | None = None
        self.done = False

    @property
    def path(self) -> Path:
        assert self.writer is not None
        return self.writer.path

    @property
    def sha256(self) -> str:
        assert self.writer is not None
        return self.writer.sha.hexdigest()

    @property
    def size(self) -> int:
        return self.writer.size if self.writer else 0

    def fail(self, problem: ApiError) -> None:
        """Keep the first problem and drop the file; the rest of the body is ignored."""
        if self.problem is None:
            self.problem = problem
        self.discard()

    def write(self, data: bytes) -> None:
        if self.problem is not None or self.writer is None:
            return
        if self.writer.size + len(data) > self.limit:
            self.fail(too_large(self.limit))
            return
        try:
            self.writer.write(data)
        except OSError:
            log.exception("an upload could not be written to %s", self.writer.path)
            self.fail(ApiError(503, "The server could not store the file; try again later."))

    def feed(self, chunk: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """The body is complete: close the file, or raise the problem met on the way."""
        if self.problem is None:
            self._complete()
        if self.problem is not None:
            self.discard()
            raise self.problem
        assert self.writer is not None
        self.writer.close()
        self.done = True

    def _complete(self) -> None:
        pass

    def discard(self) -> None:
        """Remove the file (the request failed or went away)."""
        if self.writer is not None:
            self.writer.discard()
        self.done = True


class RawIntake(Intake):
    """The body is the file; its type and name come from the request's headers."""

    def __init__(self, path: Path, limit: int, headers: Any) -> None:
        super().__init__(path, limit)
        self.declared_type = headers.get("Content-Type") or None
        self.filename = from_disposition(headers.get("Content-Disposition"))

    def feed(self, chunk: bytes) -> None:
        self.write(chunk)


class MultipartIntake(Intake):
    """``multipart/form-data`` with one part ``file`` (its filename and type from the part)."""

    def __init__(self, path: Path, limit: int, boundary: bytes) -> None:
        super().__init__(path, limit)
        self._headers: dict[str, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self._seen_file = False
        self._parser = MultipartParser(boundary, callbacks={
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        })

    def feed(self, chunk: bytes) -> None:
        if self.problem is not None:
            return
        try:
            self._parser.write(chunk)
        except Exception:  # noqa: BLE001 - the parser and its callbacks read what the client sent
            self.fail(ApiError(400, "The multipart/form-data body is malformed."))

    def _complete(self) -> None:
        try:
            self._parser.finalize()
        except Exception:  # noqa: BLE001 - as in feed()
            self.fail(ApiError(400, "The multipart/form-data body is malformed."))
            return
        if not self._seen_file:
            self.fail(ApiError(422, "Send the file in a part named \"file\".",
                               fields={"file": ["Missing data for required field."]}))
        elif self._in_file:
            self.fail(ApiError(400, "The multipart/form-data body ends inside the file."))

    # -- parser callbacks --------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        if self.problem is not None:
            return
        disposition = self._headers.get("content-disposition", b"")
        _, params = parse_options_header(disposition)  # bytes: read as latin-1, whatever they hold
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name != "file":
            shown = name or "(unnamed)"
            self.fail(ApiError(422, f"Unknown part {shown!r}: send only a part named \"file\".",
                               fields={shown: ["Unknown field."]}))
        elif self._seen_file:
            self.fail(ApiError(422, "Send one file per upload.", fields={"file": ["Only one file may be sent."]}))
        else:
            self._seen_file = self._in_file = True
            self.declared_type = self._headers.get("content-type", b"").decode("latin-1") or None
            self.filename = from_disposition(disposition.decode("utf-8", "replace")) or clean_filename(
                params.get(b"filename", b"").decode("utf-8", "replace")
            )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.write(data[start:end])

    def _part_end(self) -> None:
        self._in_file = False


def boundary_of(content_type: str) -> bytes | None:
    try:
        _, params = parse_options_header(content_type.encode("latin-1", "replace"))
    except ValueError:
        return None
    boundary = params.get(b"boundary")
    return boundary if boundary and len(boundary) <= 200 else None

