"""Safe loading of weights and checkpoints.

- ``.safetensors``: loaded with safetensors (no code can run).
- ``.pth``/``.pt``/``.bin``/``.tar``: ``torch.load(weights_only=True)``. Official checkpoints that
  pickle extra objects load through :data:`OFFICIAL_ALLOWLIST`, which maps exactly the globals
  they need to inert stand-ins (never ``weights_only=False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from posetool.errors import WeightsError


class DiscardedObject:
    """Stand-in for pickled objects a checkpoint carries but posetool never uses.

    VideoPose3D's ``.bin`` files pickle the training generator's ``numpy.random.RandomState``;
    unpickling it as this inert object keeps ``weights_only=True`` safe.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "<discarded pickled object>"


def _discard(*args: Any, **kwargs: Any) -> DiscardedObject:
    return DiscardedObject()


def _official_allowlist() -> list[Any]:
    """(callable, qualified name) pairs for globals found in official checkpoints."""
    import numpy as np

    names = [
        # numpy RandomState, as pickled by numpy < 1.17 and by numpy ≥ 1.17 / 2.x
        "numpy.random.__RandomState_ctor",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random.mtrand.RandomState",
        "numpy.random._mt19937.MT19937",
        # the arrays inside that state (only reachable through the stand-ins above)
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.ndarray",
        "numpy.dtype",
        "_codecs.encode",
    ]
    allow: list[Any] = [(_discard, n) for n in names[:5]]
    allow += [(DiscardedObject, n) for n in names[5:]]
    del np
    return allow


def load_state(path: str | Path, *, official: bool = False) -> Any:
    """Load a weights file or checkpoint safely; returns what the file holds.

    Args:
        official: allow the extra globals of known official checkpoint formats.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{path}: not a valid safetensors file ({exc})") from None
    import pickle

    import torch

    try:
        if official:
            with torch.serialization.safe_globals(_official_allowlist()):
                return torch.load(str(path), map_location="cpu", weights_only=True)
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path}: refused to unpickle (weights_only): {first}") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise WeightsError(f"{path}: cannot read checkpoint ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def strip_prefixes(state: Mapping[str, Any], prefixes: Iterable[str] = ("module.", "backbone.", "model.")) -> dict[str, Any]:
    """Remove wrapper prefixes (DataParallel's ``module.``, mmpose's ``backbone.``) from keys."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if key.startswith(p):
                    key, changed = key[len(p):], True
        out[key] = value
    return out


def load_into(module: Any, state: Mapping[str, Any], source: str, *, strict: bool = True) -> None:
    """``module.load_state_dict(state, strict)`` with a one-line error listing the mismatch."""
    try:
        result = module.load_state_dict(dict(state), strict=False)
    except RuntimeError as exc:  # shape mismatches raise even when strict=False
        lines = [ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln]
        detail = lines[0] if lines else str(exc).splitlines()[0]
        raise WeightsError(f"{source}: weights do not fit the model: {detail}") from None
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise WeightsError(f"{source}: weights do not fit the model: {'; '.join(parts)}")
