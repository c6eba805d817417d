"""``posetool synth``: render a synthetic multi-person video with ground truth in every format."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command
from posetool.cli.options import Debug, Quiet


@command("synth")
def synth(
    outdir: Annotated[str, typer.Argument(help="Output folder (created if missing).")],
    people: Annotated[int, typer.Option("--people", help="Number of people in the world.")] = 3,
    frames: Annotated[int, typer.Option("--frames", help="Number of frames.")] = 100,
    width: Annotated[int, typer.Option("--width", help="Image width in pixels.")] = 640,
    height: Annotated[int, typer.Option("--height", help="Image height in pixels.")] = 480,
    fps: Annotated[float, typer.Option("--fps", help="Frame rate.")] = 25.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives byte-identical ground truth.")] = 0,
    motion: Annotated[str, typer.Option(
        "--motion", help="mix, or a comma list of walk, run, jump, squat, wave, turn, idle.")] = "mix",
    camera: Annotated[str, typer.Option(
        "--camera", help="auto, or key=value pairs: fx, fy, cx, cy, fov (deg), height (m), pitch (deg down), yaw (deg).")
    ] = "auto",
    no_render: Annotated[bool, typer.Option("--no-render", help="Write only the ground truth (fast).")] = False,
    image_folder: Annotated[bool, typer.Option(
        "--image-folder", help="Write JPEG frames to OUTDIR/images/ instead of video.mp4.")] = False,
    motion_blur: Annotated[bool, typer.Option("--motion-blur", help="Blend each frame with the previous one.")] = False,
    noise: Annotated[float | None, typer.Option("--noise", help="Sensor noise sigma (grey levels); default: sampled 1–4.")
                     ] = None,
    children: Annotated[float, typer.Option("--children", help="Probability that a person is a child.")] = 0.15,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Render a synthetic multi-person video with ground truth in every format.

    Writes video.mp4, gt.jsonl (pose stream), gt_coco.json, gt_posetrack18.json, gt_mot.txt,
    gt_videopose3d.npz and synth.json into OUTDIR.
    """
    from posetool import console
    from posetool.synth import SynthConfig, generate

    cfg = SynthConfig(people=people, frames=frames, width=width, height=height, fps=fps, seed=seed, motion=motion,
                      camera=camera, child_fraction=children, motion_blur=motion_blur, noise=noise).validate()
    if console.is_quiet():
        result = generate(outdir, cfg, render=not no_render, image_folder=image_folder)
    else:
        from rich.progress import Progress

        with Progress(console=console.stderr, transient=True) as bar:
            task = bar.add_task("synth", total=frames)
            result = generate(outdir, cfg, render=not no_render, image_folder=image_folder,
                              progress=lambda n: bar.update(task, completed=n))
    seq = result.sequence
    shown = int(seq.present.sum()) if seq is not None else 0
    console.info(f"posetool synth: {frames} frames, {people} people ({shown} person-frames in view) → {result.outdir}")
