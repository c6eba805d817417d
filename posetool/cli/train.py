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

_ISSUES = {"detect": 7, "pose2d": 6, "correspond": 9, "lift3d": 5}


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
