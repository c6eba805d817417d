"""The one model loader every model-running stage uses.

``load_model("name")`` looks the spec up, builds the module, finds and verifies the weights,
loads them strictly, moves the module to the selected device and puts it in eval mode.

Per-spec hooks (timm's ``build_model_with_cfg`` idea) replace second loaders:

- ``ModelSpec.file_builder``: given an explicit ``--weights`` file, it may build the architecture
  stored in that file (a lifter written by ``posetool train lift3d``) instead of ``builder``;
- a module with a ``load_weights_file(path)`` method reads its own weights file (a ``.tflite``
  graph converted on load) instead of a state dict.

Runtime classes then take the :class:`LoadedModel` through their ``from_loaded`` classmethod.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posetool.hub.checkpoint import load_into, load_state, strip_prefixes
from posetool.hub.device import select_device
from posetool.hub.registry import ModelSpec, get_model_spec, resolve
from posetool.hub.weights import find_weights, sha256_file, verify_weights


@dataclass
class FileModel:
    """What a ``file_builder`` hook returns: the architecture a weights file describes.

    ``state`` is the file's content when the hook already had to read it to find the
    configuration (the loader then does not read the file again); ``None`` otherwise.
    """

    module: Any
    state: Any = None


@dataclass
class LoadedModel:
    """A ready-to-run model: the module, its spec, device and the weights' provenance.

    ``name`` is the model as provenance records it: the spec's name, or ``"NAME (FILE)"`` when
    the architecture came from the weights file itself (``ModelSpec.file_builder``).
    """

    module: Any
    spec: ModelSpec
    device: Any
    weights_path: Path | None
    weights_sha256: str | None
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.spec.name


def _from_file(spec: ModelSpec, path: Path | None, explicit: bool) -> FileModel | None:
    """The spec's ``file_builder`` hook on an explicit ``--weights`` file, if it has one.

    Shipped and cached files always load into the registered architecture, so the hook only
    sees files the user names.
    """
    if not (spec.file_builder and explicit and path is not None):
        return None
    return resolve(spec.file_builder)(path)


def _read_state(spec: ModelSpec, path: Path) -> Any:
    """A weights file as a state dict: safely loaded, ``state_dict`` unwrapped, prefixes stripped."""
    state = load_state(path, official=spec.weights is not None and spec.weights.source == "user")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return strip_prefixes(state)


def load_model(name: str, *, task: str | None = None, weights: str | None = None, device: str = "auto") -> LoadedModel:
    """Build model ``name`` with its weights on ``device`` (see :func:`select_device`).

    ``weights`` replaces the registered file (no sha256 check; the spec's ``file_builder`` may
    build the architecture that file describes). ``task`` restricts the lookup to one stage.
    """
    spec = get_model_spec(name, task)
    dev = select_device(device)
    path = find_weights(spec, weights)
    built = _from_file(spec, path, explicit=bool(weights))
    module = built.module if built is not None else spec.build()
    digest = None
    if path is not None:
        digest = verify_weights(spec, path) if weights is None else None
        read_file = getattr(module, "load_weights_file", None)
        if callable(read_file):
            # Weights that are not a state dict (a .tflite graph converted on load) are read by the module.
            read_file(path)
        elif built is not None:
            # The file's own layout: loaded as the trainer wrote it, strictly.
            load_into(module, built.state if built.state is not None else load_state(path), str(path))
        else:
            load_into(module, _read_state(spec, path), str(path))
        if digest is None:
            digest = sha256_file(path)
    module = module.to(dev).eval()
    label = f"{spec.name} ({path.name})" if built is not None and path is not None else spec.name
    return LoadedModel(module, spec, dev, path, digest, label)
