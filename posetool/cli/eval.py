"""``posetool eval pose|track|mot|lift``: the metrics the field trusts."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import Debug, Quiet

app = typer.Typer(help="Evaluate predictions against ground truth (COCO mAP, PoseTrack, MOT, MPJPE).", no_args_is_help=True)

Pred = Annotated[str, typer.Argument(help="Predictions: a pose stream or the task's file format.")]
Gt = Annotated[str, typer.Option("--gt", help="Ground truth file or folder.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the metrics as JSON on stdout.")]

_METRICS = {
    "pose": "COCO keypoint AP/AR (pycocotools).",
    "track": "PoseTrack mAP and MOTA (as poseval).",
    "mot": "Box tracking metrics (py-motmetrics).",
    "lift": "MPJPE, P-MPJPE, N-MPJPE, velocity error.",
}


def _make(kind: str, help_text: str) -> None:
    @app.command(kind, help=help_text)
    @command(f"eval {kind}")
    def evaluate(pred: Pred, gt: Gt, as_json: AsJson = False, quiet: Quiet = False, debug: Debug = False) -> None:
        not_available(f"eval {kind}", 4)


for _kind, _help in _METRICS.items():
    _make(_kind, _help)
