"""Loading a lifter for ``posetool lift3d``: registered models through the one model loader,
plus weights files that carry their own architecture.

``--weights FILE`` with a file written by ``posetool train lift3d`` (``model.safetensors`` with
the ``posetool.videopose3d`` metadata, or an ``epoch_N.pt`` checkpoint with its ``config``)
builds the architecture stored in the file; anything else (official ``.bin`` checkpoints,
shipped safetensors) is loaded into the registered model's architecture by
:func:`posetool.hub.loader.load_model`, strictly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from posetool.hub.checkpoint import load_into, load_state
from posetool.nn.videopose3d import VideoPose3D


@dataclass
class LoadedLifter:
    model: VideoPose3D
    name: str
    weights_sha256: str | None
    device: object


def _config_in_file(path: Path) -> dict | None:
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        raw = meta.get("posetool.videopose3d")
        return json.loads(raw) if raw else None
    return None


def load_lifter(name: str, weights: str | None = None, device: str = "auto") -> LoadedLifter:
    """The lifter to run: registered model ``name``, or the architecture stored in ``weights``."""
    from posetool.hub.device import select_device
    from posetool.hub.loader import load_model
    from posetool.hub.weights import sha256_file

    if weights:
        path = Path(weights).expanduser()
        cfg = _config_in_file(path) if path.is_file() else None
        state = None
        if cfg is None and path.is_file() and path.suffix in (".pt", ".pth"):
            state = load_state(path, official=True)
            if isinstance(state, dict) and isinstance(state.get("config"), dict) and isinstance(state.get("data"), dict):
                c, d = state["config"], state["data"]
                cfg = {"in_skeleton": d["in_skeleton"], "out_skeleton": c["out_skeleton"], "num_joints_in": d["num_joints_in"],
                       "num_joints_out": d["num_joints_out"], "in_features": d["in_features"],
                       "filter_widths": [int(v) for v in str(c["architecture"]).split(",")], "channels": c["channels"],
                       "dropout": c["dropout"], "causal": c["causal"], "trajectory": state.get("model_traj") is not None}
        if cfg is not None:
            dev = select_device(device)
            model = VideoPose3D(**cfg)
            load_into(model, state if state is not None else load_state(path), str(path))
            return LoadedLifter(model.to(dev).eval(), f"{name} ({path.name})", sha256_file(path), dev)
    loaded = load_model(name, task="lift3d", weights=weights, device=device)
    return LoadedLifter(loaded.module, name, loaded.weights_sha256, loaded.device)
