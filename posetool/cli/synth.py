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
    frames: Annotated[int | None, typer.Option(
        "--frames", help="Number of frames \\[default: 100; a take's length follows its timing].")] = None,
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
    scene: Annotated[str, typer.Option(
        "--scene", help="mix (random actions), or a scripted test scene: reenter (leave the view and come back "
                        "after 1–5 s), crossing, turn (turn round on the spot), run.")] = "mix",
    action: Annotated[str | None, typer.Option(
        "--action", help="Write a take instead: one person performing this action once (squat, jump, lunge, "
        "walk: one gait cycle in place; random-N: random whole-body movement N, the training world of "
        "align_any), with the phase of every frame in gt.jsonl.", rich_help_panel="Take")] = None,
    tempo: Annotated[float | None, typer.Option(
        "--tempo", help="Take speed against the nominal duration (1.5: 1.5x faster) \\[default: sampled 0.7–1.4].",
        rich_help_panel="Take")] = None,
    tempo_change: Annotated[float | None, typer.Option(
        "--tempo-change", help="Take speed at the end / at the start \\[default: sampled 1/1.5–1.5].",
        rich_help_panel="Take")] = None,
    pause: Annotated[list[str] | None, typer.Option(
        "--pause", help="Hold still at PHASE for SECONDS, e.g. 0.5:0.8 (repeatable; 'none' for no pause) "
        "\\[default: sampled, 0–2 holds].", rich_help_panel="Take")] = None,
    view: Annotated[float | None, typer.Option(
        "--view", help="Camera azimuth around the performer, degrees (0: facing the camera) \\[default: sampled].",
        rich_help_panel="Take")] = None,
    lead: Annotated[float, typer.Option(
        "--lead", help="Seconds of holding still before and after the movement (standing; a walk holds its first "
        "and last pose).", rich_help_panel="Take")] = 0.0,
    takes: Annotated[int, typer.Option(
        "--takes", min=1, help="Write this many takes, seeds SEED, SEED+1, ..., into OUTDIR/ACTION-sSEED "
        "(a training set in one call).", rich_help_panel="Take")] = 1,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Render a synthetic multi-person video with ground truth in every format.

    Writes video.mp4, gt.jsonl (pose stream), gt_coco.json, gt_posetrack18.json, gt_mot.txt,
    gt_videopose3d.npz and synth.json into OUTDIR.
    """
    from posetool import console
    from posetool.synth import SynthConfig, generate

    if action is not None:
        from posetool.synth.takes import write_takes

        write_takes(outdir, action, takes, seed=seed, tempo=tempo, tempo_change=tempo_change, pauses=pause,
                    view=view, lead=lead, fps=fps, width=width, height=height, children=children, noise=noise,
                    motion_blur=motion_blur, render=not no_render, image_folder=image_folder,
                    ignored={"--people": people != 3, "--frames": frames is not None, "--motion": motion != "mix",
                             "--camera": camera != "auto", "--scene": scene != "mix"})
        return
    if takes != 1:
        from posetool.errors import UsageError

        raise UsageError("--takes needs --action (it writes single-action takes)")
    frames = 100 if frames is None else frames
    cfg = SynthConfig(people=people, frames=frames, width=width, height=height, fps=fps, seed=seed, motion=motion,
                      camera=camera, child_fraction=children, motion_blur=motion_blur, noise=noise,
                      scene=scene).validate()
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
    if seq is not None and people > 0 and seq.present.shape[0] == people:
        never = [i + 1 for i in range(people) if not seq.present[i].any()]
        if never:
            console.warn(f"{len(never)} of {people} people never come into view (track id(s) "
                         f"{', '.join(map(str, never))}); {shown} of {people * frames} person-frames are in view: "
                         "try another --seed or more --frames")
