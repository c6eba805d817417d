"""VideoPose3D ``.npz`` files (``data/data_3d_h36m.npz``, ``data_2d_*.npz`` and the custom format).

- ``positions_3d[subject][action]``: (N, J, 3) metres (J = 32 for raw Human3.6M, 17 after
  VideoPose3D's joint selection), or a list of such arrays (one per camera).
- ``positions_2d[subject][action]``: a list, one (N, J, 2) pixel array per camera.
- ``metadata``: a dict (``layout_name``, ``num_joints``, ``keypoints_symmetry``, …).

These dicts are stored as pickled object arrays. Loading never uses ``np.load(allow_pickle=True)``:
object arrays are unpickled with an allow-list of the numpy and builtin types these files hold,
so a crafted file cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from posetool.errors import PosetoolError

# Human3.6M's 32 joints → the 17 that VideoPose3D keeps (common/h36m_dataset.py removes the others).
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("collections", "OrderedDict"), ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"),
    ("builtins", "set"), ("builtins", "str"), ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"),
    ("builtins", "complex"), ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise PosetoolError(f"refusing to unpickle {module}.{name}: not a type a VideoPose3D npz file holds")


def _read_npy(raw: bytes) -> Any:
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    _, _, dtype = read_header(fp)
    if dtype.hasobject:
        return _SafeUnpickler(fp).load()
    return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)


def read_npz(path: str | os.PathLike[str]) -> dict[str, Any]:
    """All arrays of an ``.npz``; pickled object arrays (dicts) come back as Python objects."""
    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except FileNotFoundError:
        raise PosetoolError(f"{p}: no such file") from None
    except zipfile.BadZipFile:
        raise PosetoolError(f"{p}: not an .npz file") from None
    out: dict[str, Any] = {}
    with zf:
        for name in zf.namelist():
            key = name.removesuffix(".npy")
            try:
                obj = _read_npy(zf.read(name))
            except PosetoolError as exc:
                raise PosetoolError(f"{p}: {key}: {exc}") from None
            except (ValueError, pickle.UnpicklingError, EOFError) as exc:
                raise PosetoolError(f"{p}: {key}: unreadable array ({exc})") from None
            if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
                obj = obj.item()
            out[key] = obj
    return out


def read_positions_3d(path: str | os.PathLike[str]) -> dict[str, dict[str, list[np.ndarray]]]:
    """``positions_3d`` as subject → action → list of (N, 17, 3) float64 arrays (one per camera
    when the file stores a list, else one). 32-joint Human3.6M arrays are reduced to VideoPose3D's 17."""
    data = read_npz(path)
    if "positions_3d" not in data:
        raise PosetoolError(f"{path}: no positions_3d array; not a VideoPose3D 3D file (keys: {sorted(data)})")
    pos = data["positions_3d"]
    if not isinstance(pos, dict):
        raise PosetoolError(f"{path}: positions_3d must be a dict subject → action → array")
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in pos.items():
        for action, arr in dict(actions).items():
            seqs = arr if isinstance(arr, (list, tuple)) else [arr]
            fixed = []
            for a in seqs:
                a = np.asarray(a, dtype=np.float64)
                if a.ndim != 3 or a.shape[-1] != 3:
                    raise PosetoolError(f"{path}: positions_3d[{subject!r}][{action!r}] has shape {a.shape}, expected (N, J, 3)")
                if a.shape[1] == 32:
                    a = a[:, list(H36M32_TO_17)]
                fixed.append(a)
            out.setdefault(str(subject), {})[str(action)] = fixed
    return out


def write_videopose3d_npz(path: str | os.PathLike[str], **arrays: Any) -> None:
    """Write ``positions_3d`` / ``positions_2d`` / ``metadata`` (dicts) as VideoPose3D does."""
    np.savez_compressed(path, **{k: (np.array(v, dtype=object) if isinstance(v, dict) else v) for k, v in arrays.items()})
