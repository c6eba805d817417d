"""The table of ``posetool eval align`` (one row per action, then the mean over actions)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from posetool.eval.report import metric_table

COLUMNS = ("takes", "tau", "phase err NN", "phase err DTW", "progression R²", "classif. acc")
_KEYS = ("takes", "tau", "phase_error_nn", "phase_error_dtw", "progression", "classification")


def align_table(result: dict[str, Any]) -> Table:
    """Kendall's tau, phase errors (fraction of the action), progression R^2 and accuracy."""
    rows = [(action, [row.get(k) for k in _KEYS]) for action, row in result["actions"].items()]
    rows.append(("mean", [result["overall"].get(k) for k in _KEYS]))
    title = f"Alignment: {result['method']} ({result['labelled']} labelled take(s) per action)"
    return metric_table(title, COLUMNS, rows, digits=3)
