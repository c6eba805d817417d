"""Reading pose streams incrementally from files and pipes.

The reader hands each record on as soon as its bytes arrive: it reads with ``os.read`` (which
returns whatever a pipe holds instead of waiting for a full buffer) and feeds a msgpack
``Unpacker`` or a line splitter. Every record passes :class:`RecordChecker`, so malformed input
fails with one line naming the record.

Truncation: a stream that ends cleanly between records but has no end record is *truncated*; the
reader delivers every frame, then warns (or raises under ``strict``). A stream cut inside a
record delivers every complete frame, then raises :class:`StreamError`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import msgpack

from posetool.errors import StreamError
from posetool.stream.encoding import MSGPACK, sniff
from posetool.stream.foreign import PEEK, describe
from posetool.stream.records import RecordChecker

CHUNK = 1 << 16


def _default_warn(message: str) -> None:
    from posetool.console import warn

    warn(message)


class StreamReader:
    """Iterate the records of a pose stream.

    Args:
        source: a path, ``"-"`` for stdin, or a binary file object.
        strict: treat a missing end record as an error instead of a warning.
        warn: callback for warnings (default: the stderr console).
        name: how messages name the input (default: the path, or ``stdin``).

    Usage::

        reader = StreamReader("poses.msgpack")
        header = reader.header
        for frame in reader.frames():
            ...
        reader.end      # the end record, or None if the stream was truncated
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[bytes] = "-",
        *,
        strict: bool = False,
        warn: Callable[[str], None] | None = None,
        name: str | None = None,
    ) -> None:
        self._owns = False
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if isinstance(source, str):
            if source == "-":
                self._file: IO[bytes] = sys.stdin.buffer
                self.name = name or "stdin"
            else:
                try:
                    self._file = open(source, "rb")
                except FileNotFoundError:
                    raise StreamError(f"{source}: no such file") from None
                except IsADirectoryError:
                    raise StreamError(f"{source}: is a directory, expected a pose stream file") from None
                except OSError as exc:
                    raise StreamError(f"{source}: cannot open: {exc.strerror}") from None
                self._owns = True
                self.name = name or source
        else:
            self._file = source
            self.name = name or getattr(source, "name", "stream")
        self.strict = strict
        self._warn = warn or _default_warn
        self._checker = RecordChecker(self.name)
        self._records = self._iter_records()
        self._header: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.encoding: str | None = None
        self.truncated = False
        self._head: list[bytes] = []  # the first bytes read (up to PEEK), to name a file that is no stream
        self._head_size = 0

    # --- low-level byte source ------------------------------------------------------------
    def _read_chunk(self) -> bytes:
        f = self._file
        try:
            fd = f.fileno()
        except (OSError, AttributeError, ValueError):
            fd = None
        try:
            if fd is not None:
                data = os.read(fd, CHUNK)
            else:
                read1 = getattr(f, "read1", None)
                data = read1(CHUNK) if read1 is not None else f.read(CHUNK)
        except OSError as exc:
            raise StreamError(f"{self.name}: read failed: {exc.strerror or exc}") from None
        if self._head_size < PEEK and not self._checker.seen_header:
            self._head.append(data)
            self._head_size += len(data)
        return data

    def _foreign(self) -> str | None:
        """What the input is, when it is a known non-stream file (COCO, MOT, a video...); else None.

        Called only once reading has failed before the header, so reading on (up to PEEK bytes) costs
        nothing the stream would have needed.
        """
        try:
            while self._head_size < PEEK and not self._file.closed and self._read_chunk():
                pass
        except StreamError:
            pass
        return describe(b"".join(self._head)[:PEEK])

    def _iter_raw(self) -> Iterator[Any]:
        """Decode records (not yet checked) as bytes arrive."""
        chunk = self._read_chunk()
        while chunk and chunk[:1].isspace() and not chunk.strip():
            chunk = self._read_chunk()
        if not chunk:
            raise StreamError(f"{self.name}: empty input, expected a pose stream (header record first)")
        first = chunk.lstrip()[:1][0]
        self.encoding = sniff(first)
        if self.encoding is None:
            raise StreamError(
                f"{self.name}: record 1: not a pose stream: first byte 0x{first:02x} is neither JSON Lines "
                f"('{{') nor a msgpack map"
            )
        if self.encoding == MSGPACK:
            yield from self._iter_msgpack(chunk)
        else:
            yield from self._iter_jsonl(chunk)

    def _iter_msgpack(self, chunk: bytes) -> Iterator[Any]:
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=1 << 30)
        fed = 0
        boundary = 0  # offset just past the last complete record
        while chunk:
            unpacker.feed(chunk)
            fed += len(chunk)
            try:
                for rec in unpacker:
                    # ``tell()`` is exact only right after a complete object: once the unpacker
                    # stops inside a record it already counts the bytes it parsed of it, so the
                    # clean-cut test below must use the offset taken here.
                    boundary = unpacker.tell()
                    yield rec
            except (msgpack.exceptions.ExtraData, msgpack.exceptions.FormatError, msgpack.exceptions.StackError,
                    ValueError) as exc:
                raise StreamError(f"{self._checker.name}: record {self._checker.count + 1}: corrupt msgpack: {exc}") from None
            chunk = self._read_chunk()
        if boundary < fed:
            self.truncated = True
            raise StreamError(
                f"{self.name}: record {self._checker.count + 1} is cut off mid-record "
                f"({fed - boundary} bytes of an incomplete record at the end); the stream is truncated"
            )

    def _iter_jsonl(self, chunk: bytes) -> Iterator[Any]:
        buf = b""
        while chunk:
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.strip():
                    yield self._parse_json(line)
            chunk = self._read_chunk()
        if buf.strip():
            # The last line has no newline: a complete record is fine, a cut one is truncation.
            try:
                rec = json.loads(buf)
            except (ValueError, UnicodeDecodeError):
                self.truncated = True
                raise StreamError(
                    f"{self.name}: record {self._checker.count + 1} is cut off mid-record "
                    f"(incomplete JSON line at the end); the stream is truncated"
                ) from None
            yield rec

    def _parse_json(self, line: bytes) -> Any:
        try:
            return json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StreamError(f"{self.name}: record {self._checker.count + 1}: invalid JSON: {exc}") from None

    # --- checked records --------------------------------------------------------------------
    def _checked(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Records with their types; an input failing before its header that is another known
        file (COCO, PoseTrack, MOT, a video) is named as such (:mod:`posetool.stream.foreign`)."""
        try:
            for rec in self._iter_raw():
                kind = self._checker.check(rec)
                if kind == "header":
                    self._head = []  # a stream after all: the bytes kept to name it are not needed
                yield rec, kind
        except StreamError:
            foreign = None if self._checker.seen_header else self._foreign()
            if foreign is None:
                raise
            raise StreamError(f"{self.name}: {foreign}") from None

    def _iter_records(self) -> Iterator[dict[str, Any]]:
        try:
            for rec, kind in self._checked():
                if kind == "end":
                    self.end = rec
                yield rec
            if not self._checker.seen_header:
                raise StreamError(f"{self.name}: no header record")
            if self.end is None:
                self.truncated = True
                msg = (
                    f"{self.name}: stream truncated after record {self._checker.count} "
                    f"(frame {self._checker.last_frame}): no end record; every complete frame was read"
                )
                if self.strict:
                    raise StreamError(msg)
                self._warn(msg)
        finally:
            self.close()

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in order, header and end included (the header once, even if already read)."""
        if self._header is not None:
            yield self._header
        yield from self._records

    @property
    def header(self) -> dict[str, Any]:
        """The header record (reads it on first access)."""
        if self._header is None:
            try:
                rec = next(self._records)
            except StopIteration:
                raise StreamError(f"{self.name}: no header record") from None
            self._header = rec
        return self._header

    def frames(self) -> Iterator[dict[str, Any]]:
        """Frame records in order (the header is read first if it was not yet)."""
        _ = self.header
        for rec in self._records:
            if rec["type"] == "frame":
                yield rec

    @property
    def records_read(self) -> int:
        return self._checker.count

    def close(self) -> None:
        if self._owns and not self._file.closed:
            self._file.close()

    def __enter__(self) -> "StreamReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_stream(source: str | os.PathLike[str] | IO[bytes] = "-", *, strict: bool = False) -> list[dict[str, Any]]:
    """Read a whole stream into a list of records (small streams and tests)."""
    return list(StreamReader(source, strict=strict).records())
