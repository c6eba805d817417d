"""``posetool detect``: detect people in a video; writes the header and one frame record per frame with boxes."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video, Weights


@command("detect")
def detect(
    video: Annotated[str, typer.Argument(help="Video file or image folder.")],
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Detector: hog, centernet, gt, blazepose.", rich_help_panel="Model")] = "hog",
    score_thr: Annotated[float, typer.Option("--score-thr", min=0.0, max=1.0, help="Drop boxes scoring below this.")] = 0.3,
    nms_thr: Annotated[float, typer.Option("--nms-thr", min=0.0, max=1.0, help="IoU threshold of box NMS.")] = 0.5,
    max_people: Annotated[int, typer.Option("--max-people", min=1, help="Keep at most this many boxes per frame.")] = 20,
    every: Annotated[int, typer.Option("--every", min=1, help="Run on every Nth frame (others get no boxes).")] = 1,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Detect people in a video; writes the header and one frame record per frame with boxes."""
    not_available("detect", 7)
