"""Device selection in one place: ``--device auto|cpu|cuda[:N]|mps``."""

from __future__ import annotations

import re

from posetool.errors import PosetoolError, UsageError

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(spec: str = "auto") -> None:
    """Check a ``--device`` value for a backend that does not run on torch (hog, gt).

    Such a backend runs on the CPU whatever ``--device`` says, but a device the machine does not
    have fails exactly as it does for the torch models (:func:`select_device`), so a command line
    that works with one ``--model`` does not fail later with another. ``auto`` and ``cpu`` are
    checked without importing torch.
    """
    value = (spec or "auto").strip().lower()
    if value in ("auto", "cpu"):
        return
    select_device(spec)


def select_device(spec: str = "auto"):  # -> torch.device (torch imported lazily)
    """Turn a ``--device`` value into a ``torch.device``.

    ``auto`` picks CUDA when present, then Apple MPS, then the CPU. Asking for a device that is
    not present is an error rather than a silent fallback.
    """
    import torch

    value = (spec or "auto").strip().lower()
    if not _DEVICE_RE.match(value):
        raise UsageError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {spec!r}")
    if value == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if value.startswith("cuda"):
        if not torch.cuda.is_available():
            raise PosetoolError(f"--device {spec}: CUDA is not available on this machine; use --device cpu or auto")
        index = int(value.split(":")[1]) if ":" in value else 0
        if index >= torch.cuda.device_count():
            raise PosetoolError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
    if value == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise PosetoolError("--device mps: Apple MPS is not available on this machine; use --device cpu or auto")
    return torch.device(value)
