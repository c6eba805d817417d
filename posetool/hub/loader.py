"""The one model loader every model-running stage uses.

``load_model("name")`` looks the spec up, builds the module, finds and verifies the weights,
loads them strictly, moves the module to the selected device and puts it in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posetool.hub.checkpoint import load_into, load_state, strip_prefixes
from posetool.hub.device import select_device
from posetool.hub.registry import ModelSpec, get_model_spec
from posetool.hub.weights import find_weights, verify_weights


@dataclass
class LoadedModel:
    """A ready-to-run model: the module, its spec, device and the weights' provenance."""

    module: Any
    spec: ModelSpec
    device: Any
    weights_path: Path | None
    weights_sha256: str | None


def load_model(name: str, *, task: str | None = None, weights: str | None = None, device: str = "auto") -> LoadedModel:
    """Build model ``name`` with its weights on ``device`` (see :func:`select_device`)."""
    spec = get_model_spec(name, task)
    dev = select_device(device)
    module = spec.build()
    path = find_weights(spec, weights)
    digest = None
    if path is not None:
        digest = verify_weights(spec, path) if weights is None else None
        read_file = getattr(module, "load_weights_file", None)
        if callable(read_file):
            # Weights that are not a state dict (a .tflite graph converted on load) are read by the module.
            read_file(path)
        else:
            state = load_state(path, official=spec.weights is not None and spec.weights.source == "user")
            if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            load_into(module, strip_prefixes(state), str(path))
        if digest is None:
            from posetool.hub.weights import sha256_file

            digest = sha256_file(path)
    module = module.to(dev).eval()
    return LoadedModel(module, spec, dev, path, digest)
