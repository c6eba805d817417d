"""``posetool lift3d``: lift each track's 2D keypoints to 3D with VideoPose3D."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Weights
from posetool.engine.presets import SYNTH


@command("lift3d", stage=True)
def lift3d(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Lifting model (posetool weights list).", rich_help_panel="Model")] = SYNTH.lift,
    causal: Annotated[
        bool, typer.Option("--causal", help="Online mode: use only past frames (needs a causal model); one frame per pass unless --chunk.")
    ] = False,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Test-time flip augmentation (average with the mirrored input).")] = True,
    chunk: Annotated[
        int | None,
        typer.Option("--chunk", min=1, help="Output frames per forward pass and track; bounds memory and latency "
                     "(default 2048, 1 with --causal). The result equals whole-track lifting."),
    ] = None,
    max_gap: Annotated[int, typer.Option("--max-gap", min=0, help="Longest track gap (frames) bridged by interpolation.")] = 10,
    world: Annotated[bool, typer.Option("--world", help="Also write root_world and keypoints_world in a ground-plane frame (y up, ground y = 0); the camera from --camera-height/--camera-pitch, else the stream header's camera.", rich_help_panel="World frame")] = False,
    camera_height: Annotated[float | None, typer.Option("--camera-height", min=0.0, help="Camera height above the ground (m); implies --world.", rich_help_panel="World frame")] = None,
    camera_pitch: Annotated[float | None, typer.Option("--camera-pitch", min=-90.0, max=90.0, help="Camera tilt below the horizon (degrees); implies --world.", rich_help_panel="World frame")] = None,
    camera_roll: Annotated[float, typer.Option("--camera-roll", min=-90.0, max=90.0, help="Camera roll about its optical axis (degrees).", rich_help_panel="World frame")] = 0.0,
    weights: Weights = None,
    device: Device = "auto",
    batch_size: BatchSize = 16,
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Lift each track's 2D keypoints to 3D with VideoPose3D (whole track per pass, edge padded).

    Writes keypoints_3d (metres, camera axes, root-relative) per instance and, when the model
    has a trajectory network, root_3d; sets the header's skeleton_3d.
    """
    from posetool.engine.chain import run_step
    from posetool.lift3d.stage import LiftStep

    del batch_size  # one sequence per pass; kept for the shared option set
    reader = open_reader(input, strict)
    step = LiftStep(model=model, device=device, weights=weights, causal=causal, flip=flip, chunk=chunk, max_gap=max_gap,
                    world=world, camera_height=camera_height, camera_pitch=camera_pitch, camera_roll=camera_roll)
    run_step(reader, lambda: open_writer(output, fmt), step, progress=True)
