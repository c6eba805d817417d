"""The pose stream: the contract every stage shares (design.md §2).

- :mod:`records`: header / frame / end builders and the structural checks.
- :mod:`encoding`: msgpack and JSON Lines, first-byte sniffing, NaN → null.
- :mod:`reader` / :mod:`writer`: incremental reading from pipes, flushed writing.
- :mod:`loop`: the one read → write loop (header, frames, end record; a valid stream on error).
"""

from posetool.stream.encoding import JSONL, MSGPACK, encode, points_array, sniff, to_plain
from posetool.stream.loop import write_stream
from posetool.stream.reader import StreamReader, read_stream
from posetool.stream.records import FORMAT, VERSION, make_end, make_frame, make_header, make_stage
from posetool.stream.writer import StreamWriter

__all__ = [
    "FORMAT", "JSONL", "MSGPACK", "VERSION", "StreamReader", "StreamWriter", "encode",
    "make_end", "make_frame", "make_header", "make_stage", "points_array", "read_stream", "sniff", "to_plain", "write_stream",
]
