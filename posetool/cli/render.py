"""``posetool render``: draw a pose stream over its video."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Video


@command("render")
def render(
    input: InputStream = "-",
    output: Annotated[str, typer.Option("-o", "--output", help="Overlay video file.")] = "overlay.mp4",
    video: Video = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Draw a pose stream over its video."""
    not_available("render", 11)
