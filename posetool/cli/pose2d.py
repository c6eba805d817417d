"""``posetool pose2d``: estimate 2D keypoints inside each box of a detection stream (top-down)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video, Weights


@command("pose2d")
def pose2d(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Pose model (see: posetool weights list --task pose2d).", rich_help_panel="Model")] = "simplebaseline_r18_synth",
    video: Video = None,
    flip_test: Annotated[bool, typer.Option("--flip-test/--no-flip-test", help="Average with the flipped image's heatmaps.")] = True,
    decode: Annotated[str, typer.Option("--decode", help="Heatmap decoding: argmax (quarter-pixel offset) or dark.")] = "argmax",
    oks_nms: Annotated[float, typer.Option("--oks-nms", min=0.0, max=1.0, help="OKS threshold of pose NMS.")] = 0.9,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Estimate 2D keypoints inside each box of a detection stream (top-down)."""
    not_available("pose2d", 6)
