"""``posetool train STAGE``: train one stage's model (detect, pose2d, correspond, lift3d)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import BatchSize, Debug, Device, Quiet

app = typer.Typer(help="Train a stage's model. Checkpoints every epoch; --resume continues exactly.", no_args_is_help=True)

Data = Annotated[list[str], typer.Argument(help="Training data: synth output folders or COCO-style datasets.")]
OutDir = Annotated[str, typer.Option("--out", "-o", help="Run folder for checkpoints and logs.")]
Epochs = Annotated[int, typer.Option("--epochs", min=1, help="Number of epochs.")]
Resume = Annotated[str | None, typer.Option("--resume", help="Checkpoint to continue from.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]

_ISSUES = {"detect": 7, "correspond": 9, "lift3d": 5}


def _make(stage: str) -> None:
    @app.command(stage, help=f"Train the {stage} model.")
    @command(f"train {stage}")
    def train_stage(
        data: Data,
        out: OutDir = f"runs/{stage}",
        epochs: Epochs = 10,
        batch_size: BatchSize = 32,
        resume: Resume = None,
        seed: Seed = 0,
        device: Device = "auto",
        quiet: Quiet = False,
        debug: Debug = False,
    ) -> None:
        not_available(f"train {stage}", _ISSUES[stage])


for _stage in _ISSUES:
    _make(_stage)


# --- pose2d (issue 6) ------------------------------------------------------------------------
@app.command("pose2d", help="Train a top-down heatmap model (SimpleBaselines / HRNet) on synth folders or COCO keypoint files.")
@command("train pose2d")
def train_pose2d(
    data: Data,
    out: OutDir = "runs/pose2d",
    model: Annotated[str, typer.Option("--model", help="Registered pose2d architecture (posetool weights list).")] = "simplebaseline_r18_synth",
    val: Annotated[list[str] | None, typer.Option("--val", help="Validation dataset (repeatable); COCO AP with GT boxes each epoch.")] = None,
    epochs: Epochs = 10,
    batch_size: BatchSize = 32,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 1e-3,
    lr_steps: Annotated[str | None, typer.Option("--lr-steps", help="Epochs of the x0.1 steps, e.g. 170,200 (default: 170/210 and 200/210 of --epochs).")] = None,
    sigma: Annotated[float | None, typer.Option("--sigma", min=0.5, help="Heatmap Gaussian sigma (default 2 at 64x48, 3 at 96x72).")] = None,
    scale_factor: Annotated[float, typer.Option("--scale-factor", min=0.0, max=0.9, help="Scale augmentation.")] = 0.35,
    rot_factor: Annotated[float, typer.Option("--rot-factor", min=0.0, help="Rotation augmentation (degrees; p=0.6).")] = 45.0,
    half_body: Annotated[float, typer.Option("--half-body", min=0.0, max=1.0, help="Half-body augmentation probability.")] = 0.3,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Horizontal flip augmentation.")] = True,
    init: Annotated[str | None, typer.Option("--init", help="Weights to start from (e.g. an official checkpoint).")] = None,
    half: Annotated[bool, typer.Option("--half", help="Store exported weights in float16.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Data-loading worker processes.")] = 0,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads for torch.")] = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.errors import UsageError
    from posetool.train.pose2d import Pose2DTrainConfig, train_pose2d as run

    try:
        steps = [int(s) for s in lr_steps.split(",") if s.strip()] if lr_steps else None
    except ValueError:
        raise UsageError(f"--lr-steps must be comma-separated epochs, got {lr_steps!r}") from None
    cfg = Pose2DTrainConfig(
        data=list(data), val=list(val or []), out=out, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
        lr_steps=steps, seed=seed, device=device, workers=workers, sigma=sigma, scale_factor=scale_factor,
        rot_factor=rot_factor, prob_half_body=half_body, flip=flip, init=init, half=half, threads=threads,
    )
    run(cfg, resume=resume)
