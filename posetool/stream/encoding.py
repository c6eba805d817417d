"""Encodings of a pose stream: msgpack and JSON Lines, plus first-byte sniffing.

Both encodings carry the same records. Before encoding, :func:`to_plain` turns numpy arrays and
scalars into Python lists and numbers and every NaN/±Infinity into ``None`` (``null``), so a
record reads back identically from either encoding.
"""

from __future__ import annotations

import json
import math
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


def encode(record: dict[str, Any], encoding: str) -> bytes:
    """Encode one record; JSON Lines records end with a newline."""
    plain = to_plain(record)
    if encoding == MSGPACK:
        return msgpack.packb(plain, use_bin_type=True)
    if encoding == JSONL:
        return (json.dumps(plain, separators=(",", ":"), allow_nan=False, ensure_ascii=False) + "\n").encode("utf-8")
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
