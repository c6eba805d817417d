"""``posetool pose2d``: estimate 2D keypoints inside each box of a detection stream (top-down)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.outputs import claim_input
from posetool.cli.options import (BatchSize, Debug, Device, Format, InputStream, Output, Quiet, Runtime, StreamFormat, Strict,
                                  Video, Weights)
from posetool.engine.presets import SYNTH

_P = "Post-processing"


@command("pose2d", stage=True)
def pose2d(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Pose model (see: posetool weights list).", rich_help_panel="Model")] = SYNTH.pose,
    video: Video = None,
    flip_test: Annotated[bool, typer.Option("--flip-test/--no-flip-test", help="Average with the flipped crop's heatmaps.", rich_help_panel=_P)] = True,
    shift_heatmap: Annotated[bool, typer.Option("--shift-heatmap/--no-shift-heatmap", help="Shift the flipped heatmaps one pixel right (official).", rich_help_panel=_P)] = True,
    decode: Annotated[str | None, typer.Option("--decode", help="Heatmap decoding: argmax (+quarter-pixel offset, the official), dark, or plain (default: the model's measured one: dark for the shipped synth models, argmax for official checkpoints).", rich_help_panel=_P)] = None,
    blur_kernel: Annotated[int | None, typer.Option("--blur-kernel", min=1, help="DARK blur kernel (default: the model's; else 11 for 64x48 heatmaps, 17 for 96x72).", rich_help_panel=_P)] = None,
    box_padding: Annotated[float, typer.Option("--box-padding", min=0.1, help="Box enlargement before cropping.", rich_help_panel=_P)] = 1.25,
    rescore: Annotated[bool, typer.Option("--rescore/--no-rescore", help="Score = box score x mean keypoint confidence above --in-vis-thre.", rich_help_panel=_P)] = True,
    in_vis_thre: Annotated[float, typer.Option("--in-vis-thre", min=0.0, max=1.0, help="Keypoint confidence that counts in rescoring.", rich_help_panel=_P)] = 0.2,
    oks_nms: Annotated[float, typer.Option("--oks-nms", min=0.0, max=1.0, help="OKS threshold of pose NMS (1 disables).", rich_help_panel=_P)] = 0.9,
    soft_nms: Annotated[bool, typer.Option("--soft-nms", help="Soft OKS-NMS (Gaussian rescoring, at most 20 poses).", rich_help_panel=_P)] = False,
    min_box_score: Annotated[float, typer.Option("--min-box-score", min=0.0, help="Boxes scoring below are dropped.", rich_help_panel=_P)] = 0.0,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    runtime: Runtime = "auto",
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Estimate 2D keypoints inside each box of a detection stream (top-down).

    Reads boxes (any stream whose instances have bbox) and the video its header names, crops
    each box (x1.25, the model's aspect ratio), runs the network with crops batched across
    people and frames, and writes keypoints per instance with the official post-processing.
    """
    from posetool.engine.chain import run_step
    from posetool.pose2d.estimator import TopDownOptions
    from posetool.pose2d.stage import Pose2DStep
    from posetool.video.sources import video_for_stream

    # Built (and so checked: a bad --decode) before the input is opened.
    options = TopDownOptions(
        flip_test=flip_test, shift_heatmap=shift_heatmap, decode=decode, blur_kernel=blur_kernel,
        box_padding=box_padding, in_vis_thre=in_vis_thre, rescore=rescore, oks_thre=oks_nms,
        soft_nms=soft_nms, min_box_score=min_box_score,
    )
    reader = open_reader(input, strict=strict)
    step = Pose2DStep(model=model, device=device, weights=weights, batch_size=batch_size, options=options, runtime=runtime)
    with video_for_stream(reader.header, video) as source:
        claim_input(source.path)
        run_step(reader, lambda: open_writer(output, fmt), step, source, progress=True)
