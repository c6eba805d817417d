"""What every trainer shares: seeding, checkpoints that resume exactly, DDP under torchrun.

Checkpoints hold only tensors and plain Python values (RNG states included), so they load with
``torch.load(weights_only=True)``; resuming restores model, optimizer, scheduler / learning-rate
state, the epoch, and the random states of Python, NumPy and torch, so the next epoch is the
same as in an uninterrupted run.

DDP: ``torchrun --nproc-per-node N -m posetool train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`setup_distributed` reads them and
initialises the process group (NCCL on CUDA, Gloo on CPU). Without them training is single-process.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Sampler

from posetool.errors import PosetoolError


# --- seeding and RNG state ----------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """The global random states of Python, NumPy and torch as plain values and tensors."""
    py = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    st: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {"name": name, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    v, internal, gauss = st["python"]
    random.setstate((v, tuple(internal), gauss))
    n = st["numpy"]
    keys = n["keys"].numpy() if isinstance(n["keys"], torch.Tensor) else np.asarray(n["keys"])
    np.random.set_state((n["name"], keys.astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


# --- checkpoints ----------------------------------------------------------------------------------
def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus the global RNG states) atomically: temp file, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(state)
    data["rng"] = rng_state()
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(data, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, *, restore_rng: bool = True) -> dict[str, Any]:
    """Read a checkpoint with the safe loader; optionally restore the RNG states it holds."""
    from posetool.hub.checkpoint import load_state

    data = load_state(path, official=True)
    if not isinstance(data, dict):
        raise PosetoolError(f"{path}: not a training checkpoint (expected a dict)")
    if restore_rng and "rng" in data:
        set_rng_state(data["rng"])
    return data


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return model.module if hasattr(model, "module") and isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


# --- data order and exported weights -------------------------------------------------------------
class EpochSampler(Sampler):
    """A permutation per epoch from ``(seed, epoch)``, split across DDP ranks (padded to divide evenly)."""

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n, self.seed, self.rank, self.world, self.epoch = n, seed, rank, world, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self) -> np.ndarray:
        perm = np.random.default_rng([self.seed, self.epoch, 7]).permutation(self.n)
        pad = (-len(perm)) % self.world
        perm = np.concatenate([perm, perm[:pad]])
        return perm[self.rank::self.world]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return len(self._indices())


def export_weights(model: nn.Module, path: Path, half: bool) -> Path:
    """Write the state dict as safetensors (float tensors in float16 when ``half``)."""
    from safetensors.torch import save_file

    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).contiguous().cpu()
             for k, v in unwrap(model).state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return path


def resume_state(resume: str | None, cfg: Any, model_name: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The checkpoint to continue from, with ``cfg`` reconciled to it.

    The model must be the same; the run-defining settings ``keys`` (data, seed, batch size, ...)
    are taken from the checkpoint, with a warning where they differ, so that ``--resume``
    reproduces the uninterrupted run.
    """
    if not resume:
        return None
    from posetool import console
    from posetool.errors import UsageError

    state = load_checkpoint(resume, restore_rng=False)
    saved = state.get("config") or {}
    if saved.get("model") not in (None, model_name):
        raise UsageError(f"--resume {resume}: checkpoint is of model {saved['model']}, not {model_name}")
    for key in keys:
        if key in saved and saved[key] != getattr(cfg, key):
            console.warn(f"--resume: {key} was {saved[key]!r} in the checkpoint; using it")
            setattr(cfg, key, saved[key])
    return state


# --- distributed ----------------------------------------------------------------------------------
@dataclass
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, its ``local_rank`` and device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: torch.device) -> DistInfo:
    """Initialise DDP from torchrun's environment variables; a no-op without them."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=device)
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local, device)


def cleanup_distributed(info: DistInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Sum scalars over ranks (identity when single-process)."""
    if not info.distributed:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        dist.barrier()
