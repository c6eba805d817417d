"""``posetool cat``: re-encode a pose stream (msgpack ↔ JSON Lines), so ``jq`` works anywhere."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.options import Debug, InputStream, Output, Quiet, Strict


class Encoding(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    msgpack = "msgpack"


@command("cat")
def cat(
    input: InputStream = "-",
    output: Output = "-",
    to: Annotated[Encoding, typer.Option("--to", "--format", help="Output encoding (auto: jsonl for a terminal or *.jsonl, else msgpack).")] = Encoding.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Copy a stream record by record, converting its encoding; checks every record on the way."""
    from posetool.stream import write_stream

    reader = open_reader(input, strict)
    header = reader.header  # fail on a bad header before creating the output file
    with open_writer(output, to) as writer:
        write_stream(writer, header, reader.frames(), reader)
