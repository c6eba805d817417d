"""``posetool recover``: recover missed people and keypoints from correspondences."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.outputs import claim_input
from posetool.cli.options import (
    BatchSize,
    Debug,
    Device,
    Format,
    InputStream,
    Output,
    Quiet,
    StreamFormat,
    Strict,
    Video,
    Weights,
)
from posetool.engine.presets import SYNTH

_T = "Thresholds (defaults: the authors' released settings)"


@command("recover", stage=True)
def recover(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Pose model that re-estimates recovered people.", rich_help_panel="Model")] = SYNTH.pose,
    corr_model: Annotated[str | None, typer.Option("--corr-model", help=f"Correspondence model that re-queries people recovered in the previous frame (default: the one the upstream correspond stage ran, a network or lk/dis; else {SYNTH.correspond}).", rich_help_panel="Model")] = None,
    corr_weights: Annotated[str | None, typer.Option("--corr-weights", help="Weights file for --corr-model.", rich_help_panel="Model")] = None,
    requery: Annotated[bool, typer.Option("--requery/--no-requery", help="Compute correspondences of people recovered in frame t-1 (carries people missed for several frames).")] = True,
    max_carry: Annotated[int, typer.Option("--max-carry", min=0, help="Stop recovering a person after N consecutive recovered frames (0: no cap, the authors' behaviour); see docs/correspond.md.")] = 0,
    people: Annotated[bool, typer.Option("--people/--no-people", help="Recover missed people.")] = True,
    keypoints: Annotated[bool, typer.Option("--keypoints/--no-keypoints", help="Recover missing or weak keypoints of detected people.")] = True,
    corr_thr: Annotated[float, typer.Option("--corr-thr", min=0.0, max=1.0, help="Minimum correspondence affinity.", rich_help_panel=_T)] = 0.1,
    joint_thr: Annotated[float, typer.Option("--joint-thr", min=0.0, max=1.0, help="Minimum query keypoint confidence, and confidence of a re-estimated joint.", rich_help_panel=_T)] = 0.1,
    min_correspondences: Annotated[int, typer.Option("--min-correspondences", min=1, help="Valid correspondences needed to try a recovery.", rich_help_panel=_T)] = 3,
    skip_keypoints: Annotated[str, typer.Option("--skip-keypoints", help="Keypoint indices never used as correspondences (COCO ears: 3,4; empty: none).", rich_help_panel=_T)] = "3,4",
    border: Annotated[float, typer.Option("--border", min=0.0, help="Correspondences within this many px of the image border (or at 0) are skipped.", rich_help_panel=_T)] = 0.0,
    margin: Annotated[float, typer.Option("--margin", min=0.0, help="Pixels added around the correspondences' enclosing box.", rich_help_panel=_T)] = 10.0,
    min_joints: Annotated[int, typer.Option("--min-joints", min=1, help="A recovered pose needs this many joints >= --joint-thr.", rich_help_panel=_T)] = 5,
    oks_existing: Annotated[float, typer.Option("--oks-existing", min=0.0, max=1.0, help="Max OKS of a recovered pose against the poses already in the frame.", rich_help_panel=_T)] = 0.8,
    oks_detections: Annotated[float, typer.Option("--oks-detections", min=0.0, max=1.0, help="Max OKS of a recovered pose against the original detections.", rich_help_panel=_T)] = 0.6,
    nms_oks: Annotated[float, typer.Option("--nms-oks", min=0.0, max=1.0, help="OKS threshold of the final pose NMS (1 disables).", rich_help_panel=_T)] = 0.7,
    nms_joint_thr: Annotated[float, typer.Option("--nms-joint-thr", min=0.0, max=1.0, help="Joints above this confidence count in the NMS OKS.", rich_help_panel=_T)] = 0.05,
    match_oks: Annotated[float, typer.Option("--match-oks", min=0.0, max=1.0, help="OKS between a detection and a person's correspondences to recover its keypoints.", rich_help_panel=_T)] = 0.5,
    nms_detected: Annotated[bool, typer.Option("--nms-detected/--no-nms-detected", help="Let the final pose NMS suppress detected people too (the authors'); default: it only removes recovered poses.", rich_help_panel=_T)] = False,
    claimed_oks: Annotated[float, typer.Option("--claimed-oks", min=0.0, max=1.0, help="A person of frame t-1 whose correspondences are assigned (Hungarian) to a detection with this OKS is not recovered: it was detected again (1 disables: the authors' checks only).", rich_help_panel=_T)] = 0.3,
    video: Video = None,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Recover missed people and keypoints from correspondences.

    Reads a stream with correspondences (posetool correspond) and its video. For each person of
    frame t-1 whose confident correspondences in frame t are not covered by a detected person, the
    pose is re-estimated inside their enclosing box and added with origin "recovered"; weak or
    missing keypoints of detected people are re-estimated the same way; then pose NMS.
    """
    from posetool.errors import UsageError

    try:
        skip = tuple(int(v) for v in skip_keypoints.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--skip-keypoints must be comma-separated indices, got {skip_keypoints!r}") from None

    from posetool import console
    from posetool.engine.chain import run_step
    from posetool.recover.stage import RecoverStep
    from posetool.recover.recoverer import RecoverOptions
    from posetool.video.sources import video_for_stream

    opts = RecoverOptions(corr_thr=corr_thr, joint_thr=joint_thr, min_correspondences=min_correspondences,
                          skip_keypoints=skip, border=border, margin=margin, min_joints=min_joints,
                          oks_existing=oks_existing, oks_detections=oks_detections, nms_oks=nms_oks,
                          nms_joint_thr=nms_joint_thr, people=people, keypoints=keypoints, match_oks=match_oks,
                          requery=requery, max_carry=max_carry, claimed_oks=claimed_oks,
                          nms_detected=nms_detected)
    reader = open_reader(input, strict=strict)
    step = RecoverStep(model=model, device=device, weights=weights, corr_model=corr_model, corr_weights=corr_weights,
                       batch_size=batch_size, options=opts)
    with video_for_stream(reader.header, video) as source:
        claim_input(source.path)
        run_step(reader, lambda: open_writer(output, fmt), step, source, progress=True)
    c = step.recoverer.counts
    console.info(f"recover: {c['people']} people and {c['keypoints']} keypoints recovered, {c['suppressed']} poses "
                 "suppressed by NMS")
