"""``posetool recover``: recover missed people and keypoints from correspondences."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video, Weights


@command("recover")
def recover(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Pose model that re-estimates recovered people.", rich_help_panel="Model")] = "simplebaseline_r18_synth",
    video: Video = None,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Recover missed people and keypoints from correspondences."""
    not_available("recover", 10)
