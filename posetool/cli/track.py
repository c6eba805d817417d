"""``posetool track``: link people across frames into tracks (Hungarian assignment)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import check_lr_weights, command, open_reader, open_writer
from posetool.cli.options import Debug, Format, InputStream, Output, Quiet, StreamFormat, Strict, Video

P = "Tracking"
R = "Re-identification"


@command("track", stage=True)
def track(
    input: InputStream = "-",
    output: Output = "-",
    similarity: Annotated[str, typer.Option("--similarity", help="corr, oks, iou, a weighted mix like corr:0.5,oks:0.5, or auto: corr:0.5,oks:0.5 when the stream has correspondences (posetool correspond), else oks (as posetool run).", rich_help_panel=P)] = "auto",
    gate: Annotated[float, typer.Option("--gate", min=0.0, max=1.0, help="Minimum similarity of an accepted match.", rich_help_panel=P)] = 0.3,
    matcher: Annotated[str, typer.Option("--matcher", help="hungarian (SciPy linear_sum_assignment) or greedy.", rich_help_panel=P)] = "hungarian",
    kp_thr: Annotated[float, typer.Option("--kp-thr", min=0.0, max=1.0, help="Keypoint confidence counted as present.", rich_help_panel=P)] = 0.1,
    corr_thr: Annotated[float, typer.Option("--corr-thr", min=0.0, max=1.0, help="Correspondence value counted as a hit (corr similarity).", rich_help_panel=P)] = 0.1,
    min_keypoints: Annotated[int, typer.Option("--min-keypoints", min=0, help="Confident keypoints a person needs to start a track.", rich_help_panel=P)] = 3,
    patience: Annotated[int, typer.Option("--patience", min=0, help="Frames a lost track stays re-identifiable.", rich_help_panel=P)] = 10,
    min_length: Annotated[int, typer.Option("--min-length", min=1, help="Detections a track needs to keep its id (shorter: track_id null).", rich_help_panel=P)] = 1,
    interpolate: Annotated[int, typer.Option("--interpolate", min=0, help="Fill gaps of at most N frames by linear interpolation (0: off).", rich_help_panel=P)] = 0,
    smooth: Annotated[str, typer.Option("--smooth", help="Keypoint smoothing per track: smoothnet (the learned SmoothNet of --smooth-model over windows of 16 frames, the polynomial where it moves a keypoint more than --smooth-max-move; output delayed by 15; docs/track.md), offline (two-sided local quadratic over ±--smooth-window frames; output delayed by the window), online (One-Euro, no delay) or none.", rich_help_panel=P)] = "smoothnet",
    smooth_min_cutoff: Annotated[float, typer.Option("--smooth-min-cutoff", min=1e-6, help="One-Euro minimum cutoff (Hz).", rich_help_panel=P)] = 1.0,
    smooth_beta: Annotated[float, typer.Option("--smooth-beta", min=0.0, help="One-Euro speed coefficient.", rich_help_panel=P)] = 0.007,
    smooth_window: Annotated[int, typer.Option("--smooth-window", min=1, help="Offline smoothing: half-width of the window (frames).", rich_help_panel=P)] = 3,
    smooth_degree: Annotated[int, typer.Option("--smooth-degree", min=0, help="Offline smoothing: degree of the local polynomial (2: quadratic; 4 follows fast limbs more closely and removes less jitter; docs/track.md).", rich_help_panel=P)] = 2,
    smooth_fit: Annotated[float, typer.Option("--smooth-fit", min=0.0, help="Offline smoothing: narrow a keypoint's window (down to raw) where the fit's RMS residual exceeds this × the person's height (the keypoints' vertical extent), so fast limbs are not flattened (0: fixed window).", rich_help_panel=P)] = 0.2,
    smooth_model: Annotated[str, typer.Option("--smooth-model", help="--smooth smoothnet: the registered model (posetool weights list).", rich_help_panel=P)] = "smoothnet_synth",
    smooth_weights: Annotated[str | None, typer.Option("--smooth-weights", help="--smooth smoothnet: a weights file instead of the registered one (e.g. model.safetensors of posetool train smooth).", rich_help_panel=P)] = None,
    smooth_max_move: Annotated[float, typer.Option("--smooth-max-move", min=0.0, help="--smooth smoothnet: keep the local polynomial's value where the network moves a keypoint farther than this × the person's height from the pose model's (0: off; docs/track.md).", rich_help_panel=P)] = 0.08,
    lr_repair: Annotated[bool, typer.Option("--lr-repair/--no-lr-repair", help="Flip left/right limbs whose labels make the track jump (online, judged on the past only).", rich_help_panel=P)] = False,
    lr_consistency: Annotated[str, typer.Option("--lr-consistency", help="auto (the default): learned for COCO-17 poses, offline for other skeletons. offline: decide each pose's left/right labels (whole body, then each limb group) with the track's next --lr-lookahead poses, so labels follow the motion (a Viterbi path; output delayed by the look-ahead); learned: a network trained on synth tracks reads the track's poses --lr-lookahead frames each side and exchanges the groups it finds the wrong way round (--lr-model; docs/track.md); none: keep the pose model's labels.", rich_help_panel=P)] = "auto",
    lr_model: Annotated[str, typer.Option("--lr-model", help="--lr-consistency learned: the registered model (posetool weights list).", rich_help_panel=P)] = "leftright_synth",
    lr_motion: Annotated[float, typer.Option("--lr-motion", min=0.0, help="--lr-consistency learned: also judge labels by the track's motion (--lr-order), this many person heights of motion per nat of the network's evidence, along a Viterbi path over the look-ahead (0: the network's decision alone; the default 16 was chosen on development clips, docs/track.md).", rich_help_panel=P)] = 16.0,
    lr_margin: Annotated[float, typer.Option("--lr-margin", help="--lr-consistency learned: exchange a limb group only where its pairs' summed logit exceeds this (0: where the network finds the labels more likely wrong than right; higher: fewer, surer exchanges).", rich_help_panel=P)] = 0.0,
    lr_weights: Annotated[str | None, typer.Option("--lr-weights", help="--lr-consistency learned: a weights file instead of the registered one (best.safetensors of posetool train leftright).", rich_help_panel=P)] = None,
    lr_cost: Annotated[float, typer.Option("--lr-cost", min=0.0, help="Offline left/right consistency: price of flipping one pose (where --lr-doubt does not price it), in person heights of keypoint motion (higher: trust the pose model more).", rich_help_panel=P)] = 0.1,
    lr_order: Annotated[int, typer.Option("--lr-order", min=1, max=2, help="Offline left/right consistency: judge a labelling by its keypoints' displacement (1) or acceleration (2: limbs passing each other keep going; fewer swaps on running people, docs/track.md).", rich_help_panel=P)] = 1,
    lr_doubt: Annotated[float, typer.Option("--lr-doubt", min=0.0, help="Offline left/right consistency: price a limb group's labels the other way round by the pose model's lr_doubt (this × −ln doubt, in person heights) instead of --lr-cost where pose2d wrote it (0: --lr-cost everywhere; 0.1 with --lr-order 2 on running people, docs/track.md).", rich_help_panel=P)] = 0.0,
    lr_lookahead: Annotated[int, typer.Option("--lr-lookahead", min=0, help="Offline left/right consistency: poses after a frame that decide its labels.", rich_help_panel=P)] = 25,
    reid: Annotated[str, typer.Option("--reid", help="Re-identify lost tracks: auto (appearance when the video is readable: the header's or --video; else none), none, appearance (colour descriptor of each person) or features (the correspondence network's features); appearance and features read the video and delay the output by --reid-delay.", rich_help_panel=R)] = "auto",
    reid_window: Annotated[int, typer.Option("--reid-window", min=0, help="Frames a lost track stays re-identifiable (default 250 = 10 s at 25 fps).", rich_help_panel=R)] = 250,
    reid_thr: Annotated[float, typer.Option("--reid-thr", min=0.0, max=1.0, help="Largest appearance distance of a re-identification.", rich_help_panel=R)] = 0.5,
    reid_delay: Annotated[int, typer.Option("--reid-delay", min=0, help="Frames a new track may still take a lost track's id (people enter the view partly visible); output is delayed by them.", rich_help_panel=R)] = 50,
    video: Video = None,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Link people across frames into tracks (Hungarian assignment); online, bounded memory."""
    from dataclasses import replace

    from posetool.engine.chain import run_step
    from posetool.engine.presets import AUTO
    from posetool.track.stage import TrackStep, reid_video
    from posetool.track.tracker import TrackerOptions

    options = TrackerOptions(similarity, gate, matcher, kp_thr, corr_thr, min_keypoints, patience, min_length,
                             interpolate, smooth, smooth_min_cutoff, smooth_beta, smooth_window=smooth_window,
                             smooth_degree=smooth_degree, smooth_fit=smooth_fit, smooth_model=smooth_model, smooth_max_move=smooth_max_move,
                             lr_repair=lr_repair, lr_consistency=lr_consistency, lr_model=lr_model, lr_motion=lr_motion, lr_margin=lr_margin, lr_cost=lr_cost, lr_order=lr_order, lr_doubt=lr_doubt,
                             lr_lookahead=lr_lookahead,
                             reid="none" if reid == AUTO else reid, reid_window=reid_window,
                             reid_thr=reid_thr, reid_delay=reid_delay)  # checked here, before input is read
    if smooth_weights:
        from pathlib import Path

        from posetool.errors import UsageError

        if smooth != "smoothnet":
            raise UsageError("--smooth-weights is for --smooth smoothnet")
        if not Path(smooth_weights).is_file():
            raise UsageError(f"--smooth-weights {smooth_weights}: no such file")
    check_lr_weights(lr_weights, lr_consistency)
    reader = open_reader(input, strict)
    with reid_video(reader.header, video, reid) as (resolved, source):  # the video opens once, or not at all
        step = TrackStep(replace(options, reid=resolved), smooth_weights=smooth_weights, lr_weights=lr_weights)
        run_step(reader, lambda: open_writer(output, fmt), step, source, progress=True)
