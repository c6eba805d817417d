"""Safe loading of weights and checkpoints.

- ``.safetensors``: loaded with safetensors (no code can run).
- ``.pth``/``.pt``/``.bin``/``.tar``: ``torch.load(weights_only=True)``. Official checkpoints that
  pickle extra objects load through an allow-list (:func:`_official_allowlist`) that maps exactly
  the globals they need to inert stand-ins or checked rebuilders (never ``weights_only=False``):
  VideoPose3D's numpy ``RandomState`` becomes a :class:`DiscardedObject`; the numpy float64
  ``perf`` of the HRNet / SimpleBaselines training ``checkpoint.pth`` is rebuilt from its bytes,
  for numeric dtypes only.
- Anything refused is named in a one-line :class:`WeightsError` (the global torch refused).
"""

from __future__ import annotations

import pickle
import re
import struct
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


# numpy dtype strings a checkpoint's scalars may use: bool, signed/unsigned ints, floats,
# complex. Object, string, void and structured dtypes are refused (they can carry arbitrary objects).
_NUMERIC_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|c(8|16))")


class NumpyDTypeSpec:
    """Stand-in for ``numpy.dtype`` while unpickling: records a numeric dtype, builds nothing else.

    Pickles call ``numpy.dtype(spec, align, copy)`` and then set its state, whose second field
    is the byte order. Only the numeric kinds of :data:`_NUMERIC_DTYPE` are accepted.
    """

    def __init__(self, spec: Any = "f8", align: Any = False, copy: Any = True) -> None:
        if not isinstance(spec, str) or not _NUMERIC_DTYPE.fullmatch(spec):
            raise pickle.UnpicklingError(f"numpy.dtype {spec!r} (only numeric dtypes are allowed)")
        self.spec = spec
        self.byteorder = ""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]

    def to_numpy(self) -> Any:
        """The real ``numpy.dtype`` (numeric, so building it runs no pickled code)."""
        import numpy as np

        order = self.byteorder if self.byteorder in ("<", ">") else ""
        return np.dtype(order + self.spec.lstrip("<>|="))


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    """Stand-in for numpy's scalar reconstruction: a numeric scalar from its raw bytes.

    ``numpy._core.multiarray.scalar(dtype, bytes)`` is how a numpy scalar (the ``perf`` float64
    of an HRNet training checkpoint) pickles; here the dtype must be a :class:`NumpyDTypeSpec`
    and the data exactly one item's bytes.
    """
    import numpy as np

    if not isinstance(dtype, NumpyDTypeSpec) or not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("numpy scalar of a non-numeric dtype")
    dt = dtype.to_numpy()
    if len(data) != dt.itemsize:
        raise pickle.UnpicklingError(f"numpy scalar: {len(data)} bytes for dtype {dt}")
    return np.frombuffer(bytes(data), dtype=dt, count=1)[0]


def _official_allowlist() -> list[tuple[Any, str]]:
    """(stand-in, qualified name) pairs for the globals found in official checkpoints.

    Names are listed for numpy < 2 (``numpy.core``) and numpy >= 2 (``numpy._core``): the name
    in the pickle is the one of the numpy that wrote it.
    """
    random_state = [
        # numpy RandomState, as pickled by numpy < 1.17 and by numpy >= 1.17 / 2.x
        "numpy.random.__RandomState_ctor",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random.mtrand.RandomState",
        "numpy.random._mt19937.MT19937",
    ]
    # the arrays inside that state; an array anywhere else is discarded too (never used)
    arrays = ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray"]
    allow: list[tuple[Any, str]] = [(_discard, n) for n in random_state]
    allow += [(DiscardedObject, n) for n in arrays]
    allow += [(NumpyDTypeSpec, "numpy.dtype")]
    allow += [(_numpy_scalar, n) for n in ("numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar")]
    return allow


# What unpickling bytes that are no pickle can raise (besides UnpicklingError).
_GARBAGE_ERRORS = (RuntimeError, EOFError, OSError, KeyError, IndexError, ValueError, TypeError, AttributeError,
                   struct.error)


def _refusal(exc: BaseException) -> str:
    """What torch's weights-only unpickler refused, in a few words (its message is many lines)."""
    text = str(exc)
    found = re.search(r"GLOBAL (\S+) was not an allowed global", text)
    if found:
        return found.group(1)
    found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
    detail = found.group(1) if found else next((ln for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return detail.strip().rstrip(".")


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
    import torch

    try:
        if official:
            with torch.serialization.safe_globals(_official_allowlist()):
                return torch.load(str(path), map_location="cpu", weights_only=True)
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        what = _refusal(exc)
        if "invalid load key" in what:
            raise WeightsError(f"{path}: not a PyTorch checkpoint ({what})") from None
        allowed = "posetool's allow-list of the objects official checkpoints pickle" if official else "plain tensors"
        raise WeightsError(
            f"{path}: refused to unpickle {what} (torch.load weights_only=True allows {allowed}); "
            "if you trust the file, save only its state dict with torch.save or as .safetensors and pass that"
        ) from None
    except _GARBAGE_ERRORS as exc:
        # Unpickling bytes that are no pickle (a text file, a truncated download) fails with
        # whatever the first garbage opcode triggers; all of them mean the same to the user.
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        kind = "not a PyTorch checkpoint" if not _looks_like_torch(path) else "cannot read checkpoint"
        raise WeightsError(f"{path}: {kind} ({type(exc).__name__}{': ' + detail if detail else ''})") from None


def _looks_like_torch(path: Path) -> bool:
    """Whether the file starts as ``torch.save`` writes: a zip archive, or a pickle (protocol >= 2)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")


def safetensors_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (``{}`` if it has none).

    A file that is not safetensors (text, a truncated download) is a one-line :class:`WeightsError`.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({exc})") from None


def tensor_dict(state: Any, source: str) -> Mapping[str, Any]:
    """``state`` if it is a mapping (a state dict or a checkpoint dict), else a one-line error.

    ``torch.load`` happily returns an int or a list for files that are pickles of something else.
    """
    if not isinstance(state, Mapping):
        raise WeightsError(f"{source}: holds a {type(state).__name__}, not a state dict or checkpoint dict")
    return state


def model_state(state: Any, source: str) -> dict[str, Any]:
    """The model's state dict inside what a weights file held, with wrapper prefixes stripped.

    A plain state dict (``final_state.pth``, ``model_best.pth``, released ``pose_*.pth``) as is; a
    training ``checkpoint.pth`` (epoch, model, ``state_dict``, ``best_state_dict``, perf,
    optimizer) through its ``state_dict``: the DataParallel model of that epoch, whose tensors
    are those of ``best_state_dict`` (HRNet's name for ``model.module.state_dict()``).
    """
    state = tensor_dict(state, source)
    if isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    return strip_prefixes(state)


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
