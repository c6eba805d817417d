"""The lift3d ``file_builder`` hook: the lifter an explicit ``--weights`` file holds.

:func:`posetool.hub.loader.load_model` calls :func:`videopose3d_from_file` for the files a user
brings (``--weights FILE``, or an official checkpoint in the weights cache) for every lift3d
spec, so they run the network in the file whatever the registered model's architecture is:

- a file written by ``posetool train lift3d`` (``model.safetensors`` with the
  ``posetool.videopose3d`` metadata, or an ``epoch_N.pt`` checkpoint with its ``config``)
  records its architecture;
- an official VideoPose3D file (``pretrained_*.bin``, a ``run.py`` ``epoch_N.bin`` with or without
  ``model_traj``, a bare ``TemporalModel`` state dict) does not: filter widths, channels, input
  channels and output joints are read off its tensor shapes
  (:func:`posetool.nn.videopose3d.architecture_of`); the 2D/3D layouts, the split of the input
  channels into joints x features, ``causal`` and ``dropout`` come from the registered model,
  since the weights do not hold them (``run.py`` takes ``--causal`` from its command line).

Anything else (a state that is no VideoPose3D model) loads into the registered architecture,
strictly, and fails there with the mismatch. Shipped files never reach this hook.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from posetool import console
from posetool.errors import WeightsError
from posetool.hub.checkpoint import load_state, safetensors_metadata, tensor_dict
from posetool.hub.loader import FileModel
from posetool.hub.registry import ModelSpec
from posetool.nn.videopose3d import TemporalArchitecture, VideoPose3D, architecture_of, normalise_state
from posetool.skeletons import SKELETONS


def _checkpoint_config(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The architecture of a trainer checkpoint (``config`` + ``data`` entries), if it is one."""
    if not (isinstance(state.get("config"), dict) and isinstance(state.get("data"), dict)):
        return None
    c, d = state["config"], state["data"]
    return {"in_skeleton": d["in_skeleton"], "out_skeleton": c["out_skeleton"], "num_joints_in": d["num_joints_in"],
            "num_joints_out": d["num_joints_out"], "in_features": d["in_features"],
            "filter_widths": [int(v) for v in str(c["architecture"]).split(",")], "channels": c["channels"],
            "dropout": c["dropout"], "causal": c["causal"], "trajectory": state.get("model_traj") is not None}


def _joints(spec: ModelSpec, side: str) -> tuple[str, int]:
    """(layout, joint count) of the registered model's ``in`` or ``out`` side."""
    skeleton = str(spec.kwargs.get(f"{side}_skeleton", "coco17" if side == "in" else "h36m17"))
    count = spec.kwargs.get(f"num_joints_{side}")
    if count is None:
        count = len(SKELETONS[skeleton].keypoints) if skeleton in SKELETONS else 17
    return skeleton, int(count)


def _architectures(
    state: Mapping[str, Any], source: str
) -> tuple[TemporalArchitecture | None, TemporalArchitecture | None]:
    """(pose, trajectory) architectures read off a flat ``model_pos.*``/``model_traj.*`` state."""
    try:
        return architecture_of(state, "model_pos."), architecture_of(state, "model_traj.")
    except ValueError as exc:
        raise WeightsError(f"{source}: {exc}") from None


def inferred_config(state: Mapping[str, Any], spec: ModelSpec, source: str) -> dict[str, Any] | None:
    """:class:`VideoPose3D` keyword arguments for an official state (flat keys), or ``None``.

    The shapes give the widths, channels, ``J_in * F`` and ``J_out``; ``spec`` gives the layouts
    (so ``F = in_channels / J_in`` must be 2 for (x, y) or 3 for (x, y, confidence)), ``causal``
    and ``dropout``. The trajectory model, when present, must share the pose model's widths,
    channels and input (as the official ``run.py`` builds them).
    """
    pos, traj = _architectures(state, source)
    if pos is None:
        return None
    in_skeleton, j_in = _joints(spec, "in")
    out_skeleton, j_out = _joints(spec, "out")
    features = pos.in_channels // j_in
    if pos.in_channels % j_in or features not in (2, 3):
        raise WeightsError(
            f"{source}: its lifter takes {pos.in_channels} input channels, not {j_in} {in_skeleton} joints x 2 (x, y) "
            f"or x 3 (x, y, confidence) as model {spec.name} expects; pick a --model with the file's 2D layout")
    if pos.num_joints_out != j_out:
        raise WeightsError(
            f"{source}: its lifter predicts {pos.num_joints_out} joints but model {spec.name} writes {out_skeleton} "
            f"({j_out} joints); posetool has no {pos.num_joints_out}-joint 3D layout for it")
    if traj is not None and (traj.num_joints_out, traj.filter_widths, traj.channels, traj.in_channels) != (
            1, pos.filter_widths, pos.channels, pos.in_channels):
        raise WeightsError(
            f"{source}: model_traj ({traj.describe()}, {traj.num_joints_out} joints out) is not the 1-joint twin of "
            f"model_pos ({pos.describe()}) that VideoPose3D's run.py builds")
    return {"in_skeleton": in_skeleton, "out_skeleton": out_skeleton, "num_joints_in": j_in, "num_joints_out": j_out,
            "in_features": features, "filter_widths": list(pos.filter_widths), "channels": pos.channels,
            "dropout": float(spec.kwargs.get("dropout", 0.25)), "causal": bool(spec.kwargs.get("causal", False)),
            "trajectory": traj is not None}


def _announce(path: Path, spec: ModelSpec, cfg: dict[str, Any]) -> None:
    """Say which architecture was read off the file (it is not recorded anywhere in it)."""
    arch = TemporalArchitecture(cfg["num_joints_in"] * cfg["in_features"], cfg["num_joints_out"],
                                tuple(cfg["filter_widths"]), cfg["channels"])
    extra = ", trajectory" if cfg["trajectory"] else ""
    mode = "causal" if cfg["causal"] else "non-causal"
    console.info(f"lift3d: {path.name}: VideoPose3D {arch.describe()}, {cfg['in_features']} input features{extra}; "
                 f"{mode} as model {spec.name}")
    if "causal" in path.name.lower() and not cfg["causal"]:
        # Causality is only a run-time flag of the official code; the file name is the one hint.
        console.warn(f"{path.name} looks like a causal checkpoint but model {spec.name} runs it non-causally "
                     "(the weights do not record it); use a causal model such as videopose3d_h36m_cpn_causal")


def videopose3d_from_file(path: Path, spec: ModelSpec) -> FileModel | None:
    """A :class:`VideoPose3D` built for the network in ``path``, or ``None`` (see module docstring)."""
    if path.suffix == ".safetensors":
        raw = safetensors_metadata(path).get("posetool.videopose3d")
        if raw:
            return FileModel(VideoPose3D(**json.loads(raw)))
        state: Mapping[str, Any] = load_state(path)
    else:
        # Official .bin files and trainer checkpoints pickle RandomStates: read through the allow-list.
        state = tensor_dict(load_state(path, official=True), str(path))
        cfg = _checkpoint_config(state)
        if cfg is not None:
            return FileModel(VideoPose3D(**cfg), state)
    flat = normalise_state(state)
    cfg = inferred_config(flat, spec, str(path))
    if cfg is None:
        return None
    _announce(path, spec, cfg)
    return FileModel(VideoPose3D(**cfg), flat)
