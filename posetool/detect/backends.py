"""Build a detection backend by registered model name (``posetool weights list --task detect``)."""

from __future__ import annotations

from typing import Any

from posetool.errors import UsageError
from posetool.hub.loader import load_model
from posetool.hub.registry import get_model_spec


def build_detector(model: str, *, device: str = "auto", weights: str | None = None, gt: str | None = None,
                   batch_size: int = 8) -> Any:
    """The backend for ``--model``: HOG (OpenCV), ground truth (``--gt``), or a torch model.

    Torch models load through the shared loader (:func:`posetool.hub.loader.load_model`) and run
    in the class their spec names as ``runner`` (built with ``runner.from_loaded``).
    """
    spec = get_model_spec(model, task="detect")
    if spec.runtime == "opencv":
        return spec.build()
    if spec.runtime == "ground-truth":
        if weights:
            raise UsageError("--model gt reads --gt PATH, not --weights")
        from posetool.detect.gt import GtDetector

        return GtDetector(gt or "")
    if gt:
        raise UsageError(f"--gt applies to --model gt, not {model}")
    runner = spec.resolve_runner()
    if runner is None:
        raise UsageError(f"detect model {model} has no detection backend registered")
    loaded = load_model(model, task="detect", weights=weights, device=device)
    return runner.from_loaded(loaded, batch_size=batch_size)
