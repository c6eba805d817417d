"""``posetool detect``: detect people in a video; writes the header and one frame record per frame."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_writer
from posetool.cli.outputs import claim_input
from posetool.cli.options import BatchSize, Debug, Device, Format, Output, Quiet, Runtime, StreamFormat, Weights
from posetool.engine.presets import SYNTH
from posetool.hub.registry import list_models

# The registered detectors, for --help (the registry is plain data: listing it imports no torch).
_MODELS = ", ".join(s.name for s in list_models("detect"))


@command("detect", stage=True)
def detect(
    video: Annotated[str, typer.Argument(help="Video file or image folder.")],
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help=f"Detector: {_MODELS} (see: posetool weights list --task detect; default: the synth preset's, as pose2d and the other stages).", rich_help_panel="Model")] = SYNTH.detect,
    gt: Annotated[str | None, typer.Option("--gt", help="Ground truth for --model gt: COCO/PoseTrack18 JSON, MOT gt.txt or a pose stream.")] = None,
    score_thr: Annotated[float | None, typer.Option("--score-thr", min=0.0, max=1.0, help="Drop boxes scoring below this (default: the model's: hog 0.5, gt 0, centernet_r18_synth 0.5, centernet_r18_synth_ft 0.4, as posetool run).")] = None,
    nms_thr: Annotated[float | None, typer.Option("--nms-thr", min=0.0, max=1.0, help="IoU above which the lower-scoring box is suppressed (1 disables NMS; default 0.5, none for blazepose, whose own NMS runs on face boxes).")] = None,
    max_people: Annotated[int, typer.Option("--max-people", min=1, help="Keep at most this many boxes per frame (movenet: also the number of people it decodes).")] = 20,
    flip_test: Annotated[bool | None, typer.Option("--flip-test/--no-flip-test", help="CenterNet: also run each frame mirrored and average the centre heatmaps and sizes (the official flip test; twice the network work). Default: the model's (off).", show_default=False, rich_help_panel="Model")] = None,
    input_size: Annotated[int | None, typer.Option("--input-size", min=32, help="movenet: long side of the network input in pixels, a multiple of 32 (default 512; larger finds smaller people).", rich_help_panel="Model")] = None,
    every: Annotated[int, typer.Option("--every", min=1, help="Run on every Nth frame; the others get an empty frame marked skipped.")] = 1,
    fps: Annotated[float | None, typer.Option("--fps", help="Frame rate of an image folder (default 25).")] = None,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 8,
    runtime: Runtime = "auto",
    fmt: Format = StreamFormat.auto,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Detect people in a video; writes the header and one frame record per frame with boxes."""
    from posetool.detect.stage import DetectStep
    from posetool.engine.chain import run_chain
    from posetool.progress import progress_bar
    from posetool.video.sources import open_video

    step = DetectStep(model=model, device=device, weights=weights, gt=gt, score_thr=score_thr, nms_thr=nms_thr,
                      max_people=max_people, every=every, batch_size=batch_size, input_size=input_size, flip_test=flip_test,
                      runtime=runtime)
    claim_input(video)
    with open_video(video, fps) as source, progress_bar(f"detect ({model})", source.frame_count or None) as bar:
        run_chain(source, lambda: open_writer(output, fmt), [step], bar.advance)
