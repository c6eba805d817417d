"""Build a detection backend by registered model name (``posetool weights list --task detect``)."""

from __future__ import annotations

from posetool.errors import UsageError
from posetool.hub.registry import get_model_spec


# Torch detectors: the backend class that runs each architecture (by its registry builder).
TORCH_BACKENDS = {
    "posetool.nn.centernet:centernet": "posetool.detect.centernet:CenterNetDetector",
    "posetool.detect.blazepose:build_module": "posetool.detect.blazepose:BlazePoseDetectBackend",
}


def build_detector(model: str, *, device: str = "auto", weights: str | None = None, gt: str | None = None,
                   batch_size: int = 8):
    """The backend for ``--model``: HOG (OpenCV), ground truth (``--gt``), or a torch model.

    Torch models load through the shared loader (:func:`posetool.hub.loader.load_model`) inside
    their backend class (:data:`TORCH_BACKENDS`, keyed by the spec's builder).
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
    backend = TORCH_BACKENDS.get(spec.builder)
    if not backend:
        raise UsageError(f"detect model {model} has no detection backend registered")
    module, _, attr = backend.partition(":")
    import importlib

    cls = getattr(importlib.import_module(module), attr)
    return cls(model=model, device=device, weights=weights, batch_size=batch_size)
