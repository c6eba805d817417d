"""Encodings of a pose stream: msgpack and JSON Lines, plus first-byte sniffing.

Both encodings carry the same records: numpy arrays and scalars become Python lists and numbers
and every NaN/±Infinity becomes ``None`` (``null``), so a record reads back identically from
either encoding. :func:`encode` gets there without walking the record in Python when it can (see
there); :func:`to_plain` is the walk.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgpack
import numpy as np

MSGPACK = "msgpack"
JSONL = "jsonl"
ENCODINGS = (MSGPACK, JSONL)

_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
_MSGPACK_SUFFIXES = (".msgpack", ".mpk", ".mp")


def _array_to_plain(arr: np.ndarray) -> Any:
    if arr.dtype.kind == "f":
        if np.isfinite(arr).all():
            return arr.tolist()
        obj = arr.astype(object)
        obj[~np.isfinite(arr)] = None
        return obj.tolist()
    if arr.dtype.kind in "iub":
        return arr.tolist()
    return [to_plain(v) for v in arr.tolist()]


def to_plain(value: Any) -> Any:
    """Recursively convert a record to msgpack/JSON-safe Python values (NaN and Inf become None)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _array_to_plain(value)
    if isinstance(value, np.generic):
        return to_plain(value.item())
    return value


def points_array(points: Any) -> np.ndarray:
    """Stream point lists (``[[x, y, c], ...]``, null for a missing value) → float64 array, null → NaN.

    The inverse of :func:`to_plain` for keypoints: (K, D) from K points of D values.
    """
    return np.array([[np.nan if v is None else v for v in p] for p in points], dtype=np.float64)


# A msgpack float64 is 0xcb and 8 big-endian bytes; NaN and ±Infinity have every exponent bit set,
# so they start 0x7f or 0xff, then 0xf0-0xff. Packed bytes without this pattern hold no such float.
NON_FINITE_FLOAT64 = re.compile(rb"\xcb[\x7f\xff][\xf0-\xff]")


def _numpy_default(value: Any) -> Any:
    """The encoders' hook for what they cannot encode themselves: numpy arrays and scalars."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot encode a {type(value).__name__} in a pose stream")


def new_packer() -> msgpack.Packer:
    """A msgpack packer as the stream uses it (binary type for bytes, numpy values through the hook)."""
    return msgpack.Packer(use_bin_type=True, default=_numpy_default)


def _dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=_numpy_default)


def encode(record: dict[str, Any], encoding: str, packer: msgpack.Packer | None = None) -> bytes:
    """Encode one record; JSON Lines records end with a newline.

    The encoders' C code converts numpy values (through a hook) and finds non-finite floats: JSON
    refuses them, and in msgpack a byte pattern can only be there if one is (a look-alike inside
    other data is rare and only costs time). Only then is the record walked in Python
    (:func:`to_plain`, NaN/Infinity -> null), which used to be done for every record and cost 2-3x
    the packing itself (issue #18). A writer passes its own ``packer`` (:func:`new_packer`):
    reusing one saves a tenth of the packing time of a frame record.
    """
    if encoding == MSGPACK:
        packer = packer or new_packer()
        data = packer.pack(record)
        if NON_FINITE_FLOAT64.search(data) is None:
            return data
        return packer.pack(to_plain(record))
    if encoding == JSONL:
        try:
            text = _dump_json(record)
        except ValueError:  # a NaN or an infinity
            text = _dump_json(to_plain(record))
        return (text + "\n").encode("utf-8")
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def sniff(first_byte: int) -> str | None:
    """Which encoding a stream starting with ``first_byte`` uses, or ``None`` if neither.

    JSON Lines starts with ``{`` (or whitespace before it); a msgpack map starts with a fixmap
    byte 0x80–0x8f or map16/map32 (0xde, 0xdf).
    """
    if first_byte in b"{ \t\r\n":
        return JSONL
    if 0x80 <= first_byte <= 0x8F or first_byte in (0xDE, 0xDF):
        return MSGPACK
    return None


def encoding_for_path(path: str, is_tty: bool = False) -> str:
    """Default encoding for an output: by suffix, JSON Lines for a terminal, else msgpack."""
    if path == "-":
        return JSONL if is_tty else MSGPACK
    lower = path.lower()
    if lower.endswith(_JSON_SUFFIXES):
        return JSONL
    if lower.endswith(_MSGPACK_SUFFIXES):
        return MSGPACK
    return MSGPACK
