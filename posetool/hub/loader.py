"""The one model loader every model-running stage uses.

``load_model("name")`` looks the spec up, builds the module, finds and verifies the weights,
loads them strictly, moves the module to the selected device and puts it in eval mode.

Per-spec hooks (timm's ``build_model_with_cfg`` idea) replace second loaders:

- ``ModelSpec.file_builder``: given a file the user brings (``--weights``, or the official
  checkpoint of a ``source="user"`` spec in the cache) and the spec, it may build the
  architecture that file holds (a lifter written by ``posetool train lift3d``, or one read
  off an official VideoPose3D checkpoint's shapes) instead of ``builder``;
- a module with a ``load_weights_file(path)`` method reads its own weights file (a ``.tflite``
  graph converted on load) instead of a state dict.

Runtime classes then take the :class:`LoadedModel` through their ``from_loaded`` classmethod.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posetool.hub.checkpoint import load_into, load_state, model_state
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


def _users_file(spec: ModelSpec, explicit: bool) -> bool:
    """Whether the weights file is one the user brings: named with ``--weights``, or the official
    checkpoint of a ``source="user"`` spec placed in the cache (neither has a registered sha256)."""
    return explicit or (spec.weights is not None and spec.weights.source == "user")


def _from_file(spec: ModelSpec, path: Path | None, explicit: bool) -> FileModel | None:
    """The spec's ``file_builder`` hook on a file the user brings (:func:`_users_file`), if it has one.

    Shipped and pulled files (registered sha256) always load into the registered architecture,
    so the hook never sees them. The hook is called as ``hook(path, spec)``.
    """
    if not (spec.file_builder and _users_file(spec, explicit) and path is not None):
        return None
    return resolve(spec.file_builder)(path, spec)


def _read_state(spec: ModelSpec, path: Path, explicit: bool) -> Any:
    """A weights file as a state dict: safely loaded, ``state_dict`` unwrapped, prefixes stripped
    (:func:`posetool.hub.checkpoint.model_state`).

    Files the user names, and the official checkpoints of ``source="user"`` specs, are read with
    the official allow-list (still ``weights_only``): a training ``checkpoint.pth`` pickles a
    numpy ``perf``.
    """
    return model_state(load_state(path, official=_users_file(spec, explicit)), str(path))


def load_model(name: str, *, task: str | None = None, weights: str | None = None, device: str = "auto") -> LoadedModel:
    """Build model ``name`` with its weights on ``device`` (see :func:`select_device`).

    ``weights`` replaces the registered file (no sha256 check). For files the user brings the
    spec's ``file_builder`` may build the architecture the file describes. ``task`` restricts the
    lookup to one stage.
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
            load_into(module, _read_state(spec, path, explicit=bool(weights)), str(path))
        if digest is None:
            digest = sha256_file(path)
    module = module.to(dev).eval()
    label = f"{spec.name} ({path.name})" if built is not None and path is not None else spec.name
    return LoadedModel(module, spec, dev, path, digest, label)
