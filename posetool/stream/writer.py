"""Writing pose streams: one whole record per ``write`` call, flushed after each.

A writer killed between records leaves a valid (truncated) stream, and a downstream reader sees
each frame as soon as it is written.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from posetool.errors import PosetoolError
from posetool.stream.encoding import ENCODINGS, encode, encoding_for_path
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

    def __init__(self, target: str | IO[bytes] = "-", fmt: str = "auto") -> None:
        self._owns = False
        if isinstance(target, str):
            self.encoding = resolve_encoding(target, fmt)
            if target == "-":
                self._file: IO[bytes] = sys.stdout.buffer
                self.name = "stdout"
            else:
                parent = os.path.dirname(os.path.abspath(target))
                if not os.path.isdir(parent):
                    raise PosetoolError(f"{target}: output folder {parent} does not exist")
                try:
                    self._file = open(target, "wb")
                except OSError as exc:
                    raise PosetoolError(f"{target}: cannot write: {exc.strerror}") from None
                self._owns = True
                self.name = target
        else:
            self.encoding = fmt if fmt in ENCODINGS else "msgpack"
            self._file = target
            self.name = getattr(target, "name", "stream")
        self.frames = 0
        self.instances = 0
        self.ended = False

    def write(self, record: dict[str, Any]) -> None:
        """Encode and write one record, then flush."""
        data = encode(record, self.encoding)
        self._file.write(data)
        self._file.flush()
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
        if self._owns and not self._file.closed:
            self._file.close()

    def __enter__(self) -> "StreamWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
