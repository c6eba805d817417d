"""Running the TCC embedder on performances, and the no-learning baseline beside it.

:class:`AlignEmbedder` takes a :class:`posetool.hub.loader.LoadedModel` (``from_loaded``): it maps
a performance to the model's layout, normalises it (:mod:`posetool.align.features`) and embeds
the whole track in one pass (T x 128, float32). :class:`RawEmbedder` gives the normalised
keypoints themselves, what aligning without learning compares.

:func:`tcc_from_file` is the spec's ``file_builder`` hook: a ``model.safetensors`` written by
``posetool train align`` records its architecture in the ``posetool.align`` metadata entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from posetool.align.features import normalise, raw_features, to_layout
from posetool.align.sequences import Performance
from posetool.errors import PosetoolError, UsageError
from posetool.hub.loader import FileModel, LoadedModel
from posetool.nn.tcc import PoseTCC, build_pose_tcc

METADATA_KEY = "posetool.align"


class Embedder(Protocol):
    """What alignment needs: a name, the input kind, and per-frame descriptors of a performance."""

    name: str
    dims: int
    weights_sha256: str | None

    def embed(self, perf: Performance) -> np.ndarray:
        """(T, D) one descriptor per row of ``perf``."""
        ...


def model_input(perf: Performance, skeleton: str, dims: int) -> np.ndarray:
    """(T, K, F) the features of ``perf`` in the layout ``skeleton`` (absent frames are zeros)."""
    if perf.dims != dims:
        raise PosetoolError(f"{perf.source}: the embedder takes {dims}D keypoints, the performance is {perf.dims}D")
    return normalise(to_layout(perf.points, perf.skeleton, skeleton, dims), skeleton, dims)


def frame_step(fps: float, model_fps: float) -> int:
    """Dilation multiplier that keeps the temporal window's length in seconds."""
    return max(1, int(round(fps / model_fps)))


class AlignEmbedder:
    """The TCC network of a loaded model, applied to whole tracks."""

    def __init__(self, module: PoseTCC, device: torch.device | str = "cpu", name: str = "align",
                 weights_sha256: str | None = None) -> None:
        self.module = module.eval()
        self.device = torch.device(device)
        self.name, self.weights_sha256 = name, weights_sha256
        self.skeleton = str(module.config["skeleton"])
        self.dims = int(module.config["dims"])

    @classmethod
    def from_loaded(cls, loaded: LoadedModel) -> AlignEmbedder:
        return cls(loaded.module, loaded.device, loaded.name, loaded.weights_sha256)

    def embed(self, perf: Performance) -> np.ndarray:
        """(T, embed_dim) float32 embeddings of every row of ``perf``."""
        x = torch.from_numpy(model_input(perf, self.skeleton, self.dims))[None].to(self.device)
        with torch.inference_mode():
            out = self.module(x, frame_step(perf.fps, float(self.module.config["fps"])))
        return out[0].float().cpu().numpy()


class RawEmbedder:
    """The baseline: normalised keypoint coordinates (no learning, no temporal context)."""

    def __init__(self, skeleton: str = "coco17", dims: int = 2) -> None:
        self.name, self.skeleton, self.dims = "raw keypoints", skeleton, dims
        self.weights_sha256: str | None = None

    def embed(self, perf: Performance) -> np.ndarray:
        if perf.dims != self.dims:
            raise PosetoolError(f"{perf.source}: expected {self.dims}D keypoints")
        pts = to_layout(perf.points, perf.skeleton, self.skeleton, self.dims)
        return raw_features(pts, self.skeleton, self.dims)


def export_embedder(module: PoseTCC, path: str | Path) -> Path:
    """Save the network as safetensors with its architecture in the ``posetool.align`` metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata={METADATA_KEY: json.dumps(module.config, sort_keys=True)})
    return path


def tcc_from_file(path: str | Path, spec: Any = None) -> FileModel | None:
    """The loader's ``file_builder`` hook: the architecture recorded in a trained ``model.safetensors``
    (``None`` for files without it: they load into the registered architecture)."""
    from safetensors import safe_open

    path = Path(path)
    if path.suffix != ".safetensors":
        return None
    with safe_open(str(path), framework="pt") as fh:
        meta = (fh.metadata() or {}).get(METADATA_KEY)
    if meta is None:
        return None
    return FileModel(build_pose_tcc(**json.loads(meta)))


RAW_MODELS = {"raw": ("coco17", 2), "raw3d": ("h36m17", 3)}


def open_embedder(model: str, weights: str | None = None, device: str = "auto") -> Embedder:
    """The embedder ``--model`` names: ``raw`` (normalised 2D keypoints), ``raw3d`` (lifted 3D
    joints in the performer's frame), or a registered model / ``--weights`` file."""
    from posetool.hub.loader import load_model

    if model in RAW_MODELS:
        if weights:
            raise UsageError(f"--model {model} learns nothing and takes no --weights")
        return RawEmbedder(*RAW_MODELS[model])
    return AlignEmbedder.from_loaded(load_model(model, task="align", weights=weights, device=device))

