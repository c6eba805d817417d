"""The lift3d ``file_builder`` hook: lifters whose weights file carries its own architecture.

A file written by ``posetool train lift3d`` (``model.safetensors`` with the
``posetool.videopose3d`` metadata, or an ``epoch_N.pt`` checkpoint with its ``config``) describes
the network it holds, so ``--weights FILE`` runs that network whatever the registered model's
architecture is. :func:`posetool.hub.loader.load_model` calls :func:`videopose3d_from_file` for
explicit weights files of every lift3d spec; anything else (official ``.bin`` checkpoints,
shipped safetensors) loads into the registered architecture, strictly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from posetool.hub.checkpoint import load_state
from posetool.hub.loader import FileModel
from posetool.nn.videopose3d import VideoPose3D


def _safetensors_config(path: Path) -> dict[str, Any] | None:
    """The architecture stored in a trainer's safetensors metadata, if any."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    raw = meta.get("posetool.videopose3d")
    return json.loads(raw) if raw else None


def _checkpoint_config(state: Any) -> dict[str, Any] | None:
    """The architecture of a trainer checkpoint (``config`` + ``data`` entries), if it is one."""
    if not (isinstance(state, dict) and isinstance(state.get("config"), dict) and isinstance(state.get("data"), dict)):
        return None
    c, d = state["config"], state["data"]
    return {"in_skeleton": d["in_skeleton"], "out_skeleton": c["out_skeleton"], "num_joints_in": d["num_joints_in"],
            "num_joints_out": d["num_joints_out"], "in_features": d["in_features"],
            "filter_widths": [int(v) for v in str(c["architecture"]).split(",")], "channels": c["channels"],
            "dropout": c["dropout"], "causal": c["causal"], "trajectory": state.get("model_traj") is not None}


def videopose3d_from_file(path: Path) -> FileModel | None:
    """A :class:`VideoPose3D` built from the architecture stored in ``path``, or ``None``."""
    if path.suffix == ".safetensors":
        cfg = _safetensors_config(path)
        return FileModel(VideoPose3D(**cfg)) if cfg is not None else None
    if path.suffix in (".pt", ".pth"):
        # Trainer checkpoints pickle the data generator's RandomState: read through the allow-list.
        state = load_state(path, official=True)
        cfg = _checkpoint_config(state)
        return FileModel(VideoPose3D(**cfg), state) if cfg is not None else None
    return None
