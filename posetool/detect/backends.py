"""Build a detection backend by registered model name (``posetool weights list --task detect``)."""

from __future__ import annotations

from typing import Any

from posetool.errors import UsageError
from posetool.hub.device import check_device
from posetool.hub.loader import load_model
from posetool.hub.registry import get_model_spec


def _accepts(runner: Any, name: str) -> bool:
    import inspect

    return name in inspect.signature(runner.from_loaded).parameters


def build_detector(model: str, *, device: str = "auto", weights: str | None = None, gt: str | None = None,
                   batch_size: int = 8, input_size: int | None = None, max_people: int | None = None,
                   runtime: str = "auto", flip_test: bool | None = None) -> Any:
    """The backend for ``--model``: HOG (OpenCV), ground truth (``--gt``), or a torch model.

    Torch models load through the shared loader (:func:`posetool.hub.loader.load_model`) and run
    in the class their spec names as ``runner`` (built with ``runner.from_loaded``).
    ``input_size`` (network input, long side) is for runners that take it (MoveNet) and a usage
    error for the others; ``max_people`` reaches runners that decode a bounded number of people;
    ``runtime`` (``auto``, ``torch``, ``litert``: :mod:`posetool.hub.litert`) reaches runners of
    ``.tflite`` models that can run in LiteRT, and must stay ``auto`` or ``torch`` for the others;
    ``flip_test`` (None: the spec's ``defaults``, else off) reaches runners that can average a mirrored pass (CenterNet).
    """
    if input_size is not None and get_model_spec(model, task="detect").runtime != "torch":
        raise UsageError(f"--input-size applies to movenet, not {model}")
    spec = get_model_spec(model, task="detect")
    if flip_test is not None and spec.runtime != "torch":
        raise UsageError(f"--flip-test applies to the CenterNet detectors, not {model}")
    if spec.runtime in ("opencv", "ground-truth"):
        check_device(device)  # runs on the CPU, but an absent device fails as for every backend
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
    extra: dict[str, Any] = {}
    if input_size is not None:
        if not _accepts(runner, "input_size"):
            raise UsageError(f"--input-size applies to movenet, not {model}")
        extra["input_size"] = input_size
    if max_people is not None and _accepts(runner, "max_people"):
        extra["max_people"] = max_people
    if flip_test is None:
        flip_test = spec.defaults.get("flip_test")
    if flip_test is not None:
        if not _accepts(runner, "flip_test"):
            raise UsageError(f"--flip-test applies to the CenterNet detectors, not {model}")
        extra["flip_test"] = bool(flip_test)
    if _accepts(runner, "runtime"):
        extra["runtime"] = runtime
    elif runtime == "litert":
        raise UsageError(f"--runtime litert applies to movenet, not {model}")
    loaded = load_model(model, task="detect", weights=weights, device=device)
    detector = runner.from_loaded(loaded, batch_size=batch_size, **extra)
    if "score_thr" in spec.defaults:  # measured for this model; the backend class's is generic
        detector.default_score_thr = spec.defaults["score_thr"]
    return detector
