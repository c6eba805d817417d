"""``posetool correspond``: find each keypoint of frame t-1 in frame t with the correspondence network
or an optical-flow baseline (lk, dis)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.outputs import claim_input
from posetool.cli.options import (
    BatchSize,
    CorrBlurKernel,
    CorrDecode,
    CorrInputSize,
    Debug,
    Device,
    Format,
    InputStream,
    Output,
    QueryOffset,
    Quiet,
    StreamFormat,
    Strict,
    Video,
    Weights,
)
from posetool.engine.presets import SYNTH
from posetool.hub.registry import list_models

_R = "Region (networks)"
# The registered correspondence models, for --help (the registry is plain data: listing it imports no torch).
_MODELS = ", ".join(s.name for s in list_models("correspond"))


@command("correspond", stage=True)
def correspond(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help=f"Correspondence model: {_MODELS}. lk and dis are optical-flow baselines without weights (see: posetool weights list --task correspond).", rich_help_panel="Model")] = SYNTH.correspond,
    region: Annotated[str, typer.Option("--region", help="Image region given to the network: person (a window around each person of frame t-1, the same window in frame t) or frame (whole frame letterboxed).", rich_help_panel=_R)] = "person",
    context: Annotated[float | None, typer.Option("--context", min=1.0, help="Person window side / the person's longer box side (default: the model's: correspond_real 1.25, others 2.0).", rich_help_panel=_R)] = None,
    frame_size: Annotated[int, typer.Option("--frame-size", min=32, help="Letterbox side for --region frame (multiple of 32; the authors used 512).", rich_help_panel=_R)] = 512,
    fb_sigma: Annotated[float | None, typer.Option("--fb-sigma", help="lk, dis: scale of the forward-backward error in px: affinity = exp(-err^2 / (2 sigma^2)) x patch NCC (default 2; docs/correspond.md).", rich_help_panel="Model")] = None,
    decode: CorrDecode = None,
    blur_kernel: CorrBlurKernel = None,
    query_offset: QueryOffset = None,
    input_size: CorrInputSize = None,
    min_confidence: Annotated[float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Keypoints of frame t-1 at or below this confidence are not queried.")] = 0.0,
    video: Video = None,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Find each keypoint of frame t-1 in frame t with the correspondence network or optical flow.

    Reads a pose stream (after pose2d) and its video; frame t's record gets `correspondences`:
    per instance i of frame t-1, its keypoints' locations and affinities in frame t and the
    refined maps read at each person of frame t (what `track --similarity corr` uses). With
    --model lk or dis, OpenCV's optical flow carries the keypoints and the forward-backward error
    gives the affinity (docs/correspond.md).
    """
    from posetool.correspond.common import check_region
    from posetool.engine.chain import run_step
    from posetool.correspond.stage import CorrespondStep
    from posetool.video.sources import video_for_stream

    check_region(region, frame_size)  # before the input is opened; a bad value names its flag
    if input_size is not None and region == "frame":
        from posetool.errors import UsageError

        raise UsageError("--input-size sets the person window; --region frame uses --frame-size")
    reader = open_reader(input, strict=strict)
    step = CorrespondStep(model=model, device=device, weights=weights, region=region, context=context,
                          frame_size=frame_size, min_confidence=min_confidence, batch_size=batch_size,
                          fb_sigma=fb_sigma, decode=decode, blur_kernel=blur_kernel, query_offset=query_offset,
                          input_size=input_size)
    with video_for_stream(reader.header, video) as source:
        claim_input(source.path)
        run_step(reader, lambda: open_writer(output, fmt), step, source, progress=True)
