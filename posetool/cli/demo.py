"""``posetool demo``: generate a synth clip, run the chain, evaluate it and print the metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command
from posetool.cli.options import Debug, Device, Quiet
from posetool.demo import DEMO_KP_THR, DEMO_SEED


@command("demo")
def demo(
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for the clip, its ground truth, the stream and the overlay (created if missing).")] = "posetool_demo",
    people: Annotated[int, typer.Option("--people", min=1, help="People in the clip.")] = 4,
    frames: Annotated[int, typer.Option("--frames", min=2, help="Frames in the clip.")] = 75,
    seed: Annotated[int, typer.Option("--seed", help="Synth seed (the default is held out from training and validation).")] = DEMO_SEED,
    kp_thr: Annotated[float, typer.Option("--kp-thr", min=0.0, max=0.99, help="Drop keypoints of confidence <= this before PoseTrack mAP/MOTA (default: chosen on validation seeds).")] = DEMO_KP_THR,
    render: Annotated[bool, typer.Option("--render/--no-render", help="Write overlay.mp4.")] = True,
    correspond: Annotated[bool, typer.Option("--correspond/--no-correspond", help="Use correspondences and recovery.")] = True,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """A synthetic clip through detect → pose2d → correspond → recover → track → lift3d, evaluated
    (box AP, keypoint AP, MOTA, IDF1, MPJPE) against its exact ground truth; no downloads."""
    from posetool.demo import DemoOptions, print_demo, run_demo

    result = run_demo(DemoOptions(out=out, people=people, frames=frames, seed=seed, kp_thr=kp_thr, render=render,
                                  correspond=correspond, device=device))
    print_demo(result)
