"""``posetool lift3d``: lift each track's 2D keypoints to 3D with VideoPose3D."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video, Weights


@command("lift3d")
def lift3d(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Lifting model.", rich_help_panel="Model")] = "videopose3d_synth",
    causal: Annotated[bool, typer.Option("--causal", help="Use only past frames (online mode).")] = False,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Lift each track's 2D keypoints to 3D with VideoPose3D."""
    not_available("lift3d", 5)
