"""``posetool run``: run the whole chain on a video in one process."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Video


@command("run")
def run(
    video: Annotated[str, typer.Argument(help="Video file or image folder.")],
    output: Output = "-",
    fmt: Format = StreamFormat.auto,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run the whole chain on a video in one process."""
    not_available("run", 11)
