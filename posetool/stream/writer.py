"""Writing pose streams: one whole record per ``write`` call, flushed after each.

A writer killed between records leaves a valid (truncated) stream, and a downstream reader sees
each frame as soon as it is written. An output that cannot be written (a full disk, a missing
folder, no permission) raises :class:`~posetool.errors.OutputError` naming it; a closed pipe stays
a :class:`BrokenPipeError`, which the CLI ends quietly on.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from posetool.errors import OutputError, PosetoolError
from posetool.stream.encoding import ENCODINGS, encode, encoding_for_path, new_packer
from posetool.stream.records import make_end


def resolve_encoding(target: str, fmt: str = "auto") -> str:
    """The encoding for ``--format fmt`` writing to ``target`` (a path or ``-``)."""
    if fmt == "auto":
        return encoding_for_path(target, is_tty=target == "-" and sys.stdout.isatty())
    if fmt not in ENCODINGS:
        raise PosetoolError(f"--format must be auto, msgpack or jsonl, got {fmt!r}")
    return fmt


class StreamWriter:
    """Write records to a path, ``-`` (stdout) or a binary file object.

    Counts frames and instances so that :meth:`write_end` can fill the end record.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[bytes] = "-", fmt: str = "auto") -> None:
        self._owns = False
        if isinstance(target, os.PathLike):
            target = os.fspath(target)
        if isinstance(target, str):
            self.encoding = resolve_encoding(target, fmt)
            if target == "-":
                self._file: IO[bytes] = sys.stdout.buffer
                self.name = "stdout"
            else:
                parent = os.path.dirname(os.path.abspath(target))
                if not os.path.isdir(parent):
                    raise OutputError(f"{target}: output folder {parent} does not exist")
                try:
                    self._file = open(target, "wb")
                except OSError as exc:
                    raise OutputError(f"{target}: cannot write: {exc.strerror}") from None
                self._owns = True
                self.name = target
        else:
            self.encoding = fmt if fmt in ENCODINGS else "msgpack"
            self._file = target
            self.name = getattr(target, "name", "stream")
        self._packer = new_packer()
        self.frames = 0
        self.instances = 0
        self.ended = False
        self.failed = False

    def write(self, record: dict[str, Any]) -> None:
        """Encode and write one record, then flush."""
        data = encode(record, self.encoding, self._packer)
        try:
            self._file.write(data)
            self._file.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.failed = True
            raise OutputError(f"{self.name}: cannot write: {exc.strerror or exc}") from None
        if record.get("type") == "frame":
            self.frames += 1
            self.instances += len(record.get("instances") or ())
        elif record.get("type") == "end":
            self.ended = True

    def write_end(self, finished: bool = True, **extra: Any) -> dict[str, Any]:
        """Write the end record with the counts of what this writer wrote."""
        rec = make_end(self.frames, self.instances, finished)
        rec.update(extra)
        self.write(rec)
        return rec

    def close(self) -> None:
        if not self._owns or self._file.closed:
            return
        try:
            self._file.close()
        except OSError as exc:
            # closing flushes again what a failed write left buffered: that failure was already reported
            if not self.failed:
                raise OutputError(f"{self.name}: cannot write: {exc.strerror or exc}") from None

    def __enter__(self) -> "StreamWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
