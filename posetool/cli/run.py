"""``posetool run``: the whole chain on a video in one process."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from posetool.cli.common import check_lr_weights, command, open_writer
from posetool.cli.outputs import check_output, claim_input
from posetool.cli.options import BatchSize, Debug, Device, Format, Output, Quiet, Runtime, StreamFormat

M = "Models"
T = "Tracking"


@command("run", renamed={"similarity": "--track-similarity", "gate": "--track-gate"})
def run(
    video: Annotated[str, typer.Argument(help="Video file or image folder.")],
    output: Output = "-",
    preset: Annotated[str, typer.Option("--preset", help="real (MoveNet people + BlazePose landmarks, multi-person) or synth (models trained on posetool synth).")] = "real",
    detect_model: Annotated[str | None, typer.Option("--detect-model", help="Detector (default: the preset's).", rich_help_panel=M)] = None,
    gt: Annotated[str | None, typer.Option("--gt", help="Ground truth for --detect-model gt.", rich_help_panel=M)] = None,
    pose_model: Annotated[str | None, typer.Option("--pose-model", help="pose2d model (default: the preset's).", rich_help_panel=M)] = None,
    correspond_model: Annotated[str | None, typer.Option("--correspond-model", help="Correspondence model (default: the preset's: correspond_real for real, correspond_r18_synth for synth).", rich_help_panel=M)] = None,
    correspond_weights: Annotated[str | None, typer.Option("--correspond-weights", help="Weights file for the correspondence model, e.g. model.safetensors of a `posetool train correspond VIDEO --init correspond_real` run fine-tuned on this video.", rich_help_panel=M)] = None,
    correspond: Annotated[bool, typer.Option("--correspond/--no-correspond", help="Run correspondences (needs a correspondence model).", rich_help_panel=M)] = True,
    recover: Annotated[bool | None, typer.Option("--recover/--no-recover", help="Recover missed people/keypoints from correspondences (default: the preset's: synth on, real off).", rich_help_panel=M)] = None,
    lift_model: Annotated[str | None, typer.Option("--lift-model", help="3D lifting model (default: the preset's).", rich_help_panel=M)] = None,
    lift: Annotated[bool, typer.Option("--lift/--no-lift", help="Lift tracks to 3D.", rich_help_panel=M)] = True,
    score_thr: Annotated[float | None, typer.Option("--score-thr", min=0.0, max=1.0, help="Detector score threshold (default: the detector's, as posetool detect; centernet_r18_synth_ft: 0.4).", rich_help_panel=M)] = None,
    max_people: Annotated[int, typer.Option("--max-people", min=1, help="Boxes kept per frame.", rich_help_panel=M)] = 20,
    track_similarity: Annotated[str, typer.Option("--track-similarity", help="corr, oks, iou, a mix, or auto (as posetool track: corr:0.5,oks:0.5 with correspondences, else oks).", rich_help_panel=T)] = "auto",
    track_gate: Annotated[float, typer.Option("--track-gate", min=0.0, max=1.0, help="Minimum similarity of a match.", rich_help_panel=T)] = 0.3,
    patience: Annotated[int, typer.Option("--patience", min=0, help="Frames a lost track stays re-identifiable.", rich_help_panel=T)] = 10,
    min_length: Annotated[int, typer.Option("--min-length", min=1, help="Detections a track needs to keep its id.", rich_help_panel=T)] = 1,
    interpolate: Annotated[int, typer.Option("--interpolate", min=0, help="Fill track gaps up to N frames.", rich_help_panel=T)] = 0,
    smooth: Annotated[str, typer.Option("--smooth", help="Keypoint smoothing per track, as posetool track: smoothnet (learned), offline, online (One-Euro) or none.", rich_help_panel=T)] = "smoothnet",
    lr_repair: Annotated[bool, typer.Option("--lr-repair/--no-lr-repair", help="Flip left/right limbs whose labels break the track's motion, as posetool track.", rich_help_panel=T)] = False,
    lr_consistency: Annotated[str, typer.Option("--lr-consistency", help="Left/right labels decided by the learned labeller over 25 poses each side of a pose (learned), along each track with its next 25 poses (offline) or as the pose model gave them (none); auto: learned for COCO-17 poses, else offline; as posetool track.", rich_help_panel=T)] = "auto",
    lr_weights: Annotated[str | None, typer.Option("--lr-weights", help="--lr-consistency learned: a weights file instead of the registered one (best.safetensors of posetool train leftright), as posetool track.", rich_help_panel=T)] = None,
    reid: Annotated[str, typer.Option("--reid", help="Re-identify lost tracks, as posetool track: auto (= appearance here, the video is at hand), none, appearance (colour) or features (correspondence network).", rich_help_panel=T)] = "auto",
    render: Annotated[str | None, typer.Option("--render", help="Also write an overlay video here.")] = None,
    frame_buffer: Annotated[int, typer.Option("--frame-buffer", min=8, help="Decoded frames kept for the stages that need pixels.")] = 96,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    runtime: Runtime = "auto",
    fmt: Format = StreamFormat.auto,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Detect → pose2d → correspond → recover → track → lift3d in one process; same records as the piped stages."""
    # Before torch loads OpenMP: idle workers sleep instead of spinning, so a core shared with other
    # processes is not taken from the partner thread (10× slower MoveNet on a busy 2-core machine;
    # docs/movenet.md, Speed). A user's own OMP_WAIT_POLICY wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from posetool.engine.presets import PRESETS
    from posetool.engine.run import ChainOptions, check_chain_weights, run_video
    from posetool.errors import UsageError

    if preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    p = PRESETS[preset]
    corr = (correspond_model or p.correspond) if correspond else None
    if correspond_weights:
        from pathlib import Path

        from posetool.correspond.backends import is_flow

        if corr is None:
            raise UsageError("--correspond-weights needs correspondences: drop --no-correspond")
        if is_flow(corr):
            raise UsageError(f"--correspond-weights: {corr} is optical flow and has no weights")
        if not Path(correspond_weights).expanduser().is_file():
            raise UsageError(f"--correspond-weights {correspond_weights}: no such file")
    check_lr_weights(lr_weights, lr_consistency)
    opts = ChainOptions(
        detect_model=detect_model or p.detect, gt=gt, pose_model=pose_model or p.pose, correspond_model=corr,
        correspond_weights=correspond_weights,
        recover=(p.recover if recover is None else recover) and corr is not None, lift_model=(lift_model or p.lift) if lift else None,
        score_thr=score_thr, max_people=max_people, similarity=track_similarity, gate=track_gate, patience=patience,
        min_length=min_length, interpolate=interpolate, smooth=smooth, lr_repair=lr_repair, lr_consistency=lr_consistency, lr_weights=lr_weights, reid=reid, device=device, batch_size=batch_size, runtime=runtime,
        frame_buffer=frame_buffer,
    )
    claim_input(video)
    check_output(render)  # an overlay written onto the input video would destroy it
    check_chain_weights(opts)  # every missing file named at once, before any output file is opened
    run_video(video, lambda: open_writer(output, fmt), opts)
    if render:
        from posetool import console
        from posetool.render.overlay import OverlayStyle
        from posetool.render.video import render_stream
        from posetool.stream import StreamReader
        from posetool.video.sources import video_for_stream

        if output == "-":
            raise UsageError("--render needs -o FILE (the stream is read back to draw it)")
        reader = StreamReader(output)
        with video_for_stream(reader.header, video) as src:
            render_stream(reader, src, render, OverlayStyle())
        console.info(f"overlay written to {render}")
