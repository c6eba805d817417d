"""The records of a pose stream: builders and the structural checks every reader applies.

A stream is ``header, frame*, end``. Records are plain maps (dicts) so that fields a stage does
not know pass through untouched. The shapes are documented in ``schemas/*.schema.json``; the
checks here are the fast subset a reader runs on every record so that a bad field fails with a
message naming the record instead of crashing a stage three modules later.

Record indices in messages are 1-based: record 1 is the header.
"""

from __future__ import annotations

import math
from itertools import chain, repeat
from operator import countOf
from typing import Any

from posetool import __version__
from posetool.errors import StreamError
from posetool.skeletons import SKELETONS

FORMAT = "posetool.stream"
VERSION = 1  # major version; readers refuse newer ones
RECORD_TYPES = ("header", "frame", "end")


def make_header(
    source: dict[str, Any] | None = None,
    skeleton: str | None = None,
    *,
    camera: dict[str, Any] | None = None,
    skeleton_3d: str | None = None,
    stages: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A header record. ``source`` holds path, width, height, fps and frames of the video."""
    header: dict[str, Any] = {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "source": source or {},
        "skeleton": skeleton,
        "stages": list(stages or []),
    }
    if skeleton_3d is not None:
        header["skeleton_3d"] = skeleton_3d
    if camera is not None:
        header["camera"] = camera
    header.update(extra)
    return header


def make_stage(
    name: str,
    *,
    model: str | None = None,
    weights_sha256: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One provenance entry for ``header["stages"]``."""
    return {
        "stage": name,
        "model": model,
        "weights_sha256": weights_sha256,
        "params": dict(params or {}),
        "posetool": __version__,
    }


def make_frame(index: int, t: float | None, instances: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A frame record; ``t`` is the timestamp in seconds."""
    rec: dict[str, Any] = {"type": "frame", "frame": int(index), "t": t, "instances": list(instances or [])}
    rec.update(extra)
    return rec


def make_end(frames: int, instances: int, finished: bool = True, **extra: Any) -> dict[str, Any]:
    """The end record: counts of what was written, and whether the writer finished normally."""
    rec: dict[str, Any] = {"type": "end", "frames": int(frames), "instances": int(instances), "finished": bool(finished)}
    rec.update(extra)
    return rec


# --- checks ---------------------------------------------------------------------------------
# NaN is the in-memory missing value and ``null`` the stream's (design §2). JSON from posetool
# never holds NaN, but msgpack can carry a NaN float and Python's json accepts a NaN literal, so
# the checks read a stray NaN as null wherever null is allowed: every stage then sees what a
# pipe from posetool would carry. ±Infinity is no missing value (nor a pixel, metre or score)
# and is refused.

def _is_num(v: Any) -> bool:
    """A finite number (booleans are not numbers here)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and (not isinstance(v, float) or math.isfinite(v))


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v


def _is_num_or_null(v: Any) -> bool:
    return v is None or _is_num(v)


def _nan_to_null(rec: dict[str, Any], key: str) -> Any:
    """``rec[key]``, with a NaN replaced by None in ``rec``."""
    if _is_nan(rec.get(key)):
        rec[key] = None
    return rec.get(key)


def _is_vector(values: Any, n: int) -> bool:
    """Whether ``values`` is a list of ``n`` finite numbers or nulls; NaN entries become None in place."""
    if not (isinstance(values, list) and len(values) == n):
        return False
    for i, c in enumerate(values):
        if _is_nan(c):
            values[i] = None
        elif not _is_num_or_null(c):
            return False
    return True


# --- fast acceptance -------------------------------------------------------------------------
# Checking every number with a Python call cost 2-3x the msgpack decoding itself (issue #18). The
# fast test below checks a frame's instances field by field across all instances, with loops that
# run in C (map, countOf, sum), and only ever accepts: a frame it cannot vouch for (a null, an
# integer, a NaN to turn into null, a wrong type or count) goes through the exact per-value checks,
# which name the fault. A sum of floats is finite only if every term is (an infinity or NaN makes
# it inf or NaN), so one sum stands for a finiteness test of each term.

def _finite_floats(values: list[Any]) -> bool:
    """Every item of ``values`` is certainly a finite float."""
    return countOf(map(type, values), float) == len(values) and math.isfinite(sum(values))


def _float_vectors(vectors: list[Any], n: int) -> bool:
    """Every item of ``vectors`` is certainly a list of ``n`` finite floats."""
    count = len(vectors)
    if countOf(map(type, vectors), list) != count or countOf(map(len, vectors), n) != count:
        return False
    flat = list(chain.from_iterable(vectors))  # one walk of the nested lists, then two C loops over a flat one
    return countOf(map(type, flat), float) == n * count and math.isfinite(sum(flat))


def _present(instances: list[dict[str, Any]], field: str) -> list[Any]:
    """The values of ``field`` in the instances that have it (not null)."""
    return [v for v in map(dict.get, instances, repeat(field)) if v is not None]


def _layout_size(name: Any, key: str) -> tuple[int, str] | None:
    """(points, what sets them) for a header layout that posetool knows, else None (custom layouts)."""
    skel = SKELETONS.get(name) if isinstance(name, str) else None
    return None if skel is None else (skel.num_keypoints, f"the header's {key} {name} has {skel.num_keypoints}")


class RecordChecker:
    """Checks record order and field types as records arrive; remembers what it has seen.

    ``check(record)`` raises :class:`StreamError` naming ``name`` and the 1-based record index.
    Point lists must have as many points as the header's layout (``skeleton`` for ``keypoints``,
    ``skeleton_3d`` for ``keypoints_3d``); under a layout posetool does not know, as many as the
    stream's first such list. Every stage indexes keypoints by the layout, so a wrong count would
    otherwise surface as a shape error far downstream.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.seen_header = False
        self.seen_end = False
        self.last_frame: int | None = None
        self.sizes: dict[str, tuple[int, str] | None] = {"keypoints": None, "keypoints_3d": None}

    def where(self) -> str:
        return f"{self.name}: record {self.count}"

    def check(self, rec: Any) -> str:
        """Validate the next record and return its type."""
        self.count += 1
        where = self.where()
        if not isinstance(rec, dict):
            raise StreamError(f"{where}: expected a map, got {type(rec).__name__}")
        kind = rec.get("type")
        if kind is None and self.count == 1:  # another JSON file (COCO, PoseTrack) given as a stream
            raise StreamError(f"{where}: not a pose stream: the first record has no 'type' field "
                              f"(a pose stream starts with its header record)")
        if kind not in RECORD_TYPES:
            raise StreamError(f"{where}: unknown record type {kind!r} (expected header, frame or end)")
        if self.seen_end:
            raise StreamError(f"{where}: {kind} record after the end record")
        if kind == "header":
            if self.seen_header:
                raise StreamError(f"{where}: a second header record")
            self._check_header(rec, where)
            self.seen_header = True
        elif not self.seen_header:
            raise StreamError(f"{where}: {kind} record before the header")
        elif kind == "frame":
            self._check_frame(rec, where)
        else:
            for key in ("frames", "instances"):
                if key in rec and not isinstance(rec[key], int):
                    raise StreamError(f"{where}: field {key!r} of the end record must be an integer")
            self.seen_end = True
        return kind

    def _check_header(self, rec: dict[str, Any], where: str) -> None:
        if rec.get("format") != FORMAT:
            raise StreamError(f"{where}: header format is {rec.get('format')!r}, expected {FORMAT!r}")
        version = rec.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise StreamError(f"{where}: header field 'version' must be an integer, got {version!r:.40}")
        if version > VERSION:
            raise StreamError(
                f"{where}: stream version {version} is newer than this posetool reads (version {VERSION}); "
                f"upgrade posetool (pip install -U posetool)"
            )
        if not isinstance(rec.get("source", {}), dict):
            raise StreamError(f"{where}: header field 'source' must be a map")
        if not isinstance(rec.get("stages", []), list):
            raise StreamError(f"{where}: header field 'stages' must be a list")
        for key, field in (("skeleton", "keypoints"), ("skeleton_3d", "keypoints_3d")):
            skel = rec.get(key)
            if skel is not None and not isinstance(skel, str):
                raise StreamError(f"{where}: header field {key!r} must be a layout name, got {skel!r:.40}")
            self.sizes[field] = _layout_size(skel, key)

    def _check_frame(self, rec: dict[str, Any], where: str) -> None:
        idx = rec.get("frame")
        if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
            raise StreamError(f"{where}: field 'frame' must be a non-negative integer, got {idx!r:.40}")
        where = f"{where} (frame {idx})"
        if self.last_frame is not None and idx <= self.last_frame:
            raise StreamError(f"{where}: frame {idx} comes after frame {self.last_frame}; frames must increase")
        t = _nan_to_null(rec, "t")
        if not _is_num_or_null(t):
            raise StreamError(f"{where}: field 't' must be a number of seconds, got {t!r:.40}")
        insts = rec.get("instances")
        if not isinstance(insts, list):
            raise StreamError(f"{where}: field 'instances' must be a list, got {type(insts).__name__}")
        if not self._fast_instances(insts):
            for i, inst in enumerate(insts):
                self._check_instance(inst, f"{where} instance {i}")
        self.last_frame = idx

    def _fast_instances(self, insts: list[Any]) -> bool:
        """Whether the instances certainly pass :meth:`_check_instance` unchanged (no NaN to replace).

        ``False`` says nothing about validity: the exact checks then decide. Floats only (no nulls,
        no integers in number fields), which is what posetool's stages write.
        """
        if countOf(map(type, insts), dict) != len(insts):
            return False
        if not (_float_vectors(_present(insts, "bbox"), 4) and _finite_floats(_present(insts, "score"))):
            return False
        if not {int}.issuperset(map(type, _present(insts, "track_id"))):
            return False
        # root_3d and the points of both keypoint fields are all [x, y, z] triples: one check for all
        triples = _present(insts, "root_3d")
        sizes: dict[str, tuple[int, str]] = {}
        for field in ("keypoints", "keypoints_3d"):
            lists = _present(insts, field)
            if not lists:
                continue
            known = self.sizes[field]
            size = known[0] if known is not None else len(lists[0]) if type(lists[0]) is list else -1
            if countOf(map(type, lists), list) != len(lists) or countOf(map(len, lists), size) != len(lists):
                return False
            triples.extend(chain.from_iterable(lists))
            if known is None:
                sizes[field] = (size, f"earlier instances have {size}")
        if not _float_vectors(triples, 3):
            return False
        self.sizes.update(sizes)
        return True

    def _check_instance(self, inst: Any, where: str) -> None:
        if not isinstance(inst, dict):
            raise StreamError(f"{where}: must be a map, got {type(inst).__name__}")
        bbox = inst.get("bbox")
        if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_num(c) for c in bbox)):
            raise StreamError(f"{where}: field 'bbox' must be 4 finite numbers [x1, y1, x2, y2], got {bbox!r:.60}")
        score = _nan_to_null(inst, "score")
        if not _is_num_or_null(score):
            raise StreamError(f"{where}: field 'score' must be a finite number or null, got {score!r:.40}")
        tid = inst.get("track_id")
        if tid is not None and (not isinstance(tid, int) or isinstance(tid, bool)):
            raise StreamError(f"{where}: field 'track_id' must be an integer, got {tid!r:.40}")
        self._check_points(inst.get("keypoints"), "keypoints", where)
        self._check_points(inst.get("keypoints_3d"), "keypoints_3d", where)
        root = inst.get("root_3d")
        if root is not None and not _is_vector(root, 3):
            raise StreamError(f"{where}: field 'root_3d' must be 3 finite numbers or nulls, got {root!r:.60}")

    def _check_points(self, value: Any, field: str, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise StreamError(f"{where}: field {field!r} must be a list of [x, y, z] triples, got {type(value).__name__}")
        for j, p in enumerate(value):
            if not _is_vector(p, 3):
                raise StreamError(f"{where}: field {field!r} point {j} must be 3 finite numbers or nulls "
                                  f"(null: missing), got {p!r:.60}")
        size = self.sizes[field]
        if size is None:
            self.sizes[field] = (len(value), f"earlier instances have {len(value)}")
        elif len(value) != size[0]:
            raise StreamError(f"{where}: field {field!r} has {len(value)} points but {size[1]}; "
                              f"a stream holds one keypoint layout")
