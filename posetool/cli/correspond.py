"""``posetool correspond``: find each keypoint of frame t-1 in frame t with the correspondence network."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video, Weights


@command("correspond")
def correspond(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Correspondence model.", rich_help_panel="Model")] = "correspond_r18_synth",
    video: Video = None,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Find each keypoint of frame t-1 in frame t with the correspondence network."""
    not_available("correspond", 9)
