"""``posetool lift3d``: lift each track's 2D keypoints to 3D with VideoPose3D."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.options import BatchSize, Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Strict, Weights


@command("lift3d")
def lift3d(
    input: InputStream = "-",
    output: Output = "-",
    model: Annotated[str, typer.Option("--model", help="Lifting model (posetool weights list).", rich_help_panel="Model")] = "videopose3d_synth",
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
    from posetool.errors import UsageError
    from posetool.lift.infer import SequenceLifter
    from posetool.lift.model import load_lifter
    from posetool.lift.stage import LiftStage, check_input_skeleton, frame_size
    from posetool.stream import make_stage, write_frames

    del batch_size  # one sequence per pass; kept for the shared option set
    reader = open_reader(input, strict)
    header = reader.header
    loaded = load_lifter(model, weights, device)
    lifter_model = loaded.model
    check_input_skeleton(header, lifter_model, loaded.name)
    if causal and not lifter_model.causal:
        raise UsageError(
            f"--causal needs a model trained with causal convolutions; {loaded.name} is not causal "
            "(use videopose3d_h36m_cpn_causal with its official weights, or posetool train lift3d --causal)"
        )
    w, h = frame_size(header)
    n_chunk = chunk if chunk is not None else (1 if causal else 2048)
    seq = SequenceLifter(lifter_model, flip=flip, chunk=n_chunk, device=loaded.device)
    stage = LiftStage(seq, w, h, chunk=n_chunk, max_gap=max_gap)
    header.setdefault("stages", []).append(
        make_stage("lift3d", model=loaded.name, weights_sha256=loaded.weights_sha256,
                   params={"causal": lifter_model.causal, "flip": flip, "chunk": n_chunk, "max_gap": max_gap,
                           "receptive_field": lifter_model.receptive_field(), "trajectory": lifter_model.model_traj is not None})
    )
    header["skeleton_3d"] = lifter_model.out_skeleton
    writer = open_writer(output, fmt)
    writer.write(header)
    write_frames(reader, writer, stage.run(reader.frames()))
