"""What every trainer shares: the epoch loop and its hooks, seeding, checkpoints that resume
exactly, DDP under torchrun.

The loop (:func:`run_epochs`, after detectron2's ``engine/train_loop``): a trainer gives a function
that trains one epoch and returns its log row, and a list of :class:`Hook` objects that run in
order after every epoch: time it, validate, record it, export weights, checkpoint, append the row
to a JSON Lines log, print the console line. Hooks that write files, validate or print run on
DDP rank 0 only; all ranks then meet at a barrier.

Checkpoints hold only tensors and plain Python values (RNG states included), so they load with
``torch.load(weights_only=True)``; resuming restores model, optimizer, scheduler / learning-rate
state, the epoch, and the random states of Python, NumPy and torch, so the next epoch is the
same as in an uninterrupted run.

DDP: ``torchrun --nproc-per-node N -m posetool train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`setup_distributed` reads them and
initialises the process group (NCCL on CUDA, Gloo on CPU). Without them training is single-process.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Sampler

from posetool import console
from posetool.errors import PosetoolError
from posetool.hub.registry import ModelSpec, get_model_spec


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


class EpochDataset(Dataset):
    """Training items drawn afresh every epoch, reproducibly.

    Item ``index`` of epoch ``e`` draws from the generator seeded with ``(seed, e, index)``
    (:meth:`rng`), so ``--resume`` and any number of DataLoader workers see the same data.
    ``entries`` are what the indices point at (subclasses decide what an entry is).
    """

    def __init__(self, entries: list[Any], seed: int) -> None:
        self.entries, self.seed, self.epoch = entries, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.entries)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, index])


def export_weights(model: nn.Module, path: Path, half: bool, metadata: dict[str, str] | None = None) -> Path:
    """Write the state dict as safetensors (float tensors in float16 when ``half``), with ``metadata``
    (e.g. the architecture a ``file_builder`` hook rebuilds) in the file's header."""
    from safetensors.torch import save_file

    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).contiguous().cpu()
             for k, v in unwrap(model).state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata)
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


# --- starting a run -------------------------------------------------------------------------------
def training_spec(model: str | ModelSpec, task: str) -> ModelSpec:
    """The spec a trainer trains: a registered name (of ``task``), or a ModelSpec given directly."""
    return model if isinstance(model, ModelSpec) else get_model_spec(model, task=task)


def begin_run(cfg: Any, model_name: str, resume: str | None,
              keys: tuple[str, ...]) -> tuple[DistInfo, dict[str, Any] | None]:
    """Start a run: torch's thread count (``cfg.threads``, when set), DDP from torchrun's environment
    on ``cfg.device``, the checkpoint to continue from with ``cfg`` reconciled to it (``keys``, see
    :func:`resume_state`), then the seeds (``cfg.seed``). Returns where this process stands and the
    checkpoint (None for a fresh run); the caller closes the run with :func:`cleanup_distributed`.
    """
    from posetool.hub.device import select_device

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    info = setup_distributed(select_device(cfg.device))
    try:
        state = resume_state(resume, cfg, model_name, keys)
    except BaseException:  # the caller's cleanup is not reached: close the process group here
        cleanup_distributed(info)
        raise
    seed_everything(cfg.seed)
    return info, state


def wrap_ddp(module: nn.Module, info: DistInfo) -> nn.Module:
    """``module`` inside DistributedDataParallel when the run is distributed, else ``module`` itself."""
    if not info.distributed:
        return module
    return nn.parallel.DistributedDataParallel(
        module, device_ids=[info.device.index] if info.device.type == "cuda" else None)


# --- the epoch loop and its hooks ----------------------------------------------------------------
@dataclass
class EpochEnd:
    """What the hooks of one finished epoch see.

    ``epoch``: epochs done so far (the 1-based number of the one just trained); ``row``: its log
    line, which hooks extend (validation figures, time); ``started``: ``time.time()`` when the
    epoch began; ``history``: the rows recorded so far (the run's, checkpointed with it).
    """

    epoch: int
    row: dict[str, Any]
    started: float
    history: list[dict[str, Any]]


class Hook:
    """One action after every epoch (detectron2's ``HookBase``, per epoch instead of per step).

    ``main_only`` hooks run on DDP rank 0 alone (they validate, write files or print).
    """

    main_only: bool = True

    def after_epoch(self, end: EpochEnd) -> None:
        raise NotImplementedError


def run_epochs(epochs: Iterable[int], train_epoch: Callable[[int], dict[str, Any]], hooks: Sequence[Hook],
               info: DistInfo, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Train the 0-based ``epochs`` in turn; returns ``history``.

    ``train_epoch(e)`` trains epoch ``e`` (on every rank) and returns its row; then ``hooks`` run
    in their order and the ranks meet at a barrier, so rank 0's files are written before anyone
    goes on.
    """
    for epoch in epochs:
        started = time.time()
        end = EpochEnd(epoch + 1, train_epoch(epoch), started, history)
        for hook in hooks:
            if info.is_main or not hook.main_only:
                hook.after_epoch(end)
        barrier(info)
    return history


class StampTime(Hook):
    """Puts the seconds since the epoch began (2 decimals) in the row under ``key``; where it stands
    among the hooks decides what it covers (validation or not)."""

    main_only = False

    def __init__(self, key: str = "seconds") -> None:
        self.key = key

    def after_epoch(self, end: EpochEnd) -> None:
        end.row[self.key] = round(time.time() - end.started, 2)


class Validate(Hook):
    """Adds what ``evaluate(end)`` returns (validation figures; may be empty) to the row."""

    def __init__(self, evaluate: Callable[[EpochEnd], dict[str, Any]]) -> None:
        self.evaluate = evaluate

    def after_epoch(self, end: EpochEnd) -> None:
        end.row.update(self.evaluate(end))


class RecordHistory(Hook):
    """Appends the row to the run's history (on rank 0 only, unless ``main_only`` is False)."""

    def __init__(self, main_only: bool = True) -> None:
        self.main_only = main_only

    def after_epoch(self, end: EpochEnd) -> None:
        end.history.append(end.row)


class ExportWeights(Hook):
    """Writes the model's weights as safetensors after every epoch (see :func:`export_weights`)."""

    def __init__(self, model: nn.Module, path: Path, half: bool) -> None:
        self.model, self.path, self.half = model, path, half

    def after_epoch(self, end: EpochEnd) -> None:
        export_weights(self.model, self.path, self.half)


class KeepBest(Hook):
    """Tracks the best value of ``metric`` in the rows and writes the weights to ``path`` whenever
    an epoch improves on it (never when ``enabled`` is False, e.g. without validation data); the
    improving row gets ``"best": True``.

    A row without the metric counts as -1; ``best`` starts from a resumed run's value. ``export``
    writes other formats than the state dict (default: :func:`export_weights` with ``half``).
    """

    def __init__(self, model: nn.Module, path: Path, half: bool, best: float = -1.0, metric: str = "AP",
                 enabled: bool = True, export: Callable[[Path], Any] | None = None) -> None:
        self.model, self.path, self.half = model, path, half
        self.best, self.metric, self.enabled = best, metric, enabled
        self.export = export or (lambda path: export_weights(self.model, path, self.half))

    def after_epoch(self, end: EpochEnd) -> None:
        value = float(end.row.get(self.metric, -1.0))
        improved = self.enabled and value > self.best
        self.best = max(self.best, value)
        if improved:
            self.export(self.path)
            end.row["best"] = True


class Checkpoint(Hook):
    """Saves ``state(end)`` with the RNG states (:func:`save_checkpoint`) to every path in turn.

    ``{epoch}`` in a path's file name becomes the number of epochs done (``epoch_{epoch}.pt``).
    """

    def __init__(self, state: Callable[[EpochEnd], dict[str, Any]], *paths: Path) -> None:
        self.state, self.paths = state, paths

    def after_epoch(self, end: EpochEnd) -> None:
        state = self.state(end)
        for path in self.paths:
            save_checkpoint(path.with_name(path.name.format(epoch=end.epoch)), state)


class JsonLog(Hook):
    """Appends the row as one JSON line to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def after_epoch(self, end: EpochEnd) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(end.row) + "\n")


class ConsoleLine(Hook):
    """Prints ``line(end)`` on the console (stderr, silenced by ``--quiet``)."""

    def __init__(self, line: Callable[[EpochEnd], str]) -> None:
        self.line = line

    def after_epoch(self, end: EpochEnd) -> None:
        console.info(self.line(end))
