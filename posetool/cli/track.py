"""``posetool track``: link people across frames into tracks (Hungarian assignment)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.options import Debug, Format, InputStream, Output, Quiet, StreamFormat, Strict

P = "Tracking"


@command("track")
def track(
    input: InputStream = "-",
    output: Output = "-",
    similarity: Annotated[str, typer.Option("--similarity", help="corr, oks, iou, or a weighted mix like corr:0.5,oks:0.5.", rich_help_panel=P)] = "oks",
    gate: Annotated[float, typer.Option("--gate", min=0.0, max=1.0, help="Minimum similarity of an accepted match.", rich_help_panel=P)] = 0.3,
    matcher: Annotated[str, typer.Option("--matcher", help="hungarian (SciPy linear_sum_assignment) or greedy.", rich_help_panel=P)] = "hungarian",
    kp_thr: Annotated[float, typer.Option("--kp-thr", min=0.0, max=1.0, help="Keypoint confidence counted as present.", rich_help_panel=P)] = 0.1,
    corr_thr: Annotated[float, typer.Option("--corr-thr", min=0.0, max=1.0, help="Correspondence value counted as a hit (corr similarity).", rich_help_panel=P)] = 0.1,
    min_keypoints: Annotated[int, typer.Option("--min-keypoints", min=0, help="Confident keypoints a person needs to start a track.", rich_help_panel=P)] = 3,
    patience: Annotated[int, typer.Option("--patience", min=0, help="Frames a lost track stays re-identifiable.", rich_help_panel=P)] = 10,
    min_length: Annotated[int, typer.Option("--min-length", min=1, help="Detections a track needs to keep its id (shorter: track_id null).", rich_help_panel=P)] = 1,
    interpolate: Annotated[int, typer.Option("--interpolate", min=0, help="Fill gaps of at most N frames by linear interpolation (0: off).", rich_help_panel=P)] = 0,
    smooth: Annotated[bool, typer.Option("--smooth", help="One-Euro smoothing of keypoints per track.", rich_help_panel=P)] = False,
    smooth_min_cutoff: Annotated[float, typer.Option("--smooth-min-cutoff", min=1e-6, help="One-Euro minimum cutoff (Hz).", rich_help_panel=P)] = 1.0,
    smooth_beta: Annotated[float, typer.Option("--smooth-beta", min=0.0, help="One-Euro speed coefficient.", rich_help_panel=P)] = 0.007,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Link people across frames into tracks (Hungarian assignment); online, bounded memory."""
    from posetool.engine.chain import run_step
    from posetool.track.stage import TrackStep
    from posetool.track.tracker import TrackerOptions

    options = TrackerOptions(similarity, gate, matcher, kp_thr, corr_thr, min_keypoints, patience, min_length,
                             interpolate, smooth, smooth_min_cutoff, smooth_beta)  # checked here, before input is read
    reader = open_reader(input, strict)
    run_step(reader, lambda: open_writer(output, fmt), TrackStep(options), progress=True)
