"""``posetool track``: link people across frames into tracks (Hungarian assignment)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video, Weights


@command("track")
def track(
    input: InputStream = "-",
    output: Output = "-",
    similarity: Annotated[str, typer.Option("--similarity", help="corr, oks, iou, or a weighted mix like corr:0.5,oks:0.5.")] = "oks",
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Link people across frames into tracks (Hungarian assignment)."""
    not_available("track", 10)
