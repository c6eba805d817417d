"""``posetool export``: export a pose stream to COCO, PoseTrack18, MOT, VideoPose3D or CSV files."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Video


@command("export")
def export(
    input: InputStream = "-",
    to: Annotated[str, typer.Option("--to", help="coco | posetrack18 | mot | videopose3d | csv")] = "coco",
    output: Annotated[str, typer.Option("-o", "--output", help="Output file.")] = "-",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Export a pose stream to COCO, PoseTrack18, MOT, VideoPose3D or CSV files."""
    not_available("export", 11)
