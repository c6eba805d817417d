"""PoseTrack annotation files: read the 2018 (COCO-like) and 2017 ("annolist") JSON formats.

One JSON file holds one video sequence. Everything is converted to one in-memory form:
:class:`PoseTrackSequence` → :class:`PoseTrackFrame` (one per image, in file order) →
:class:`PoseTrackPerson`, with keypoints in the ``posetrack18`` layout (17 slots, COCO order;
slot 1 = head_bottom, slot 2 = head_top, the ears are placeholders).

Which keypoints are present follows poseval's converter (``poseval/convert.py``):
- 2018 files: a keypoint is absent only when ``x == 0 and y == 0 and v == 0``; anything else
  counts, even with visibility 0 or score 0. ``categories[0].keypoints`` names the slots, so
  files with 15 or 17 names in any order are read; without ``categories`` the posetrack18
  order is assumed.
- 2017 files: a keypoint is present when the ``annopoints`` list has a point with its id
  (ids 0..14 in poseval's order, see :data:`POSEVAL_IDS`).

Boxes are stored as ``[x1, y1, x2, y2]`` in pixels (2018 files store ``[x, y, w, h]``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from posetool.data.files import read_json
from posetool.errors import PosetoolError
from posetool.skeletons import POSETRACK18

# poseval's 15 joint ids (eval_helpers.Joint) → the posetrack18 slot holding that joint.
POSEVAL_NAMES = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "head_bottom", "nose", "head_top",
)
POSEVAL_IDS = tuple(POSETRACK18.index(n) for n in POSEVAL_NAMES)


@dataclass
class PoseTrackPerson:
    """One annotated (or predicted) person.

    Attributes:
        track_id: the person's track id, or ``None`` when the file has none.
        keypoints: (17, 3) float64 ``x, y, v`` in posetrack18 order (v = visibility or 0).
        present: (17,) bool, whether each keypoint is annotated / predicted.
        scores: (17,) float64 keypoint scores, or ``None`` when the file gives none.
        head_box: (4,) ``x1, y1, x2, y2`` or ``None``.
        box: (4,) ``x1, y1, x2, y2`` or ``None``.
        has_points_field: False for a 2017 ``annorect`` without ``annopoints[0].point``, which
            poseval's ``cleanupData`` removes (2018 people always have it, possibly empty).
    """

    track_id: int | None
    keypoints: np.ndarray
    present: np.ndarray
    scores: np.ndarray | None = None
    head_box: np.ndarray | None = None
    box: np.ndarray | None = None
    has_points_field: bool = True


@dataclass
class PoseTrackFrame:
    """One image of a sequence: its people and its ignore regions (polygons of shape (N, 2))."""

    file_name: str
    image_id: Any
    people: list[PoseTrackPerson] = field(default_factory=list)
    ignore_regions: list[np.ndarray] = field(default_factory=list)
    is_labeled: bool | None = None
    frame_index: int | None = None


@dataclass
class PoseTrackSequence:
    name: str
    frames: list[PoseTrackFrame]
    path: str = ""


def _xywh_to_xyxy(b: Any, where: str) -> np.ndarray | None:
    if b is None or (isinstance(b, list) and len(b) == 0):
        return None
    a = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != (4,):
        raise PosetoolError(f"{where}: a box must have 4 numbers [x, y, w, h], got {b!r:.60}")
    return np.array([a[0], a[1], a[0] + a[2], a[1] + a[3]])


def _slot_table(data: dict[str, Any], where: str) -> list[int | None]:
    """Map each keypoint position of the file to a posetrack18 slot (None: ignored)."""
    cats = data.get("categories")
    if not cats:
        return list(range(17))
    names = cats[0].get("keypoints")
    if not names:
        return list(range(17))
    table: list[int | None] = []
    for n in names:
        table.append(POSETRACK18.index(n) if n in POSETRACK18.keypoints and n not in ("left_ear", "right_ear") else None)
    missing = [n for n in POSEVAL_NAMES if POSETRACK18.index(n) not in table]
    if missing:
        raise PosetoolError(f"{where}: categories[0].keypoints lacks the PoseTrack joints {missing}")
    return table


def _read_2018(data: dict[str, Any], name: str, where: str) -> PoseTrackSequence:
    table = _slot_table(data, where)
    frames: list[PoseTrackFrame] = []
    by_id: dict[Any, PoseTrackFrame] = {}
    for im in data.get("images", []):
        regions = []
        xs, ys = im.get("ignore_regions_x") or [], im.get("ignore_regions_y") or []
        for px, py in zip(xs, ys):
            if len(px) >= 3:
                regions.append(np.stack([np.asarray(px, float), np.asarray(py, float)], axis=1))
        fr = PoseTrackFrame(
            file_name=str(im.get("file_name", "")), image_id=im.get("id"), ignore_regions=regions,
            is_labeled=im.get("is_labeled"), frame_index=im.get("frame_index"),
        )
        frames.append(fr)
        by_id.setdefault(fr.image_id, fr)
    for k, ann in enumerate(data.get("annotations", [])):
        w = f"{where}: annotations[{k}]"
        fr = by_id.get(ann.get("image_id"))
        if fr is None:
            raise PosetoolError(f"{w}: image_id {ann.get('image_id')!r} is not in images")
        raw = np.asarray(ann.get("keypoints") or [], dtype=np.float64)
        if raw.size != 3 * len(table):
            raise PosetoolError(f"{w}: keypoints has {raw.size} numbers, expected {3 * len(table)}")
        raw = raw.reshape(len(table), 3)
        kps = np.zeros((17, 3))
        present = np.zeros(17, dtype=bool)
        sc_in = ann.get("scores") or []
        scores = np.full(17, np.nan) if len(sc_in) else None
        for i, slot in enumerate(table):
            if slot is None:
                continue
            kps[slot] = raw[i]
            present[slot] = not (raw[i, 0] == 0 and raw[i, 1] == 0 and raw[i, 2] == 0)
            if scores is not None and i < len(sc_in):
                scores[slot] = float(sc_in[i])
        tid = ann.get("track_id")
        fr.people.append(PoseTrackPerson(
            track_id=None if tid is None else int(tid), keypoints=kps, present=present, scores=scores,
            head_box=_xywh_to_xyxy(ann.get("bbox_head"), w), box=_xywh_to_xyxy(ann.get("bbox"), w),
        ))
    return PoseTrackSequence(name=name, frames=frames)


def _one(v: Any) -> Any:
    return v[0] if isinstance(v, list) else v


def _read_2017(data: dict[str, Any], name: str, where: str) -> PoseTrackSequence:
    frames: list[PoseTrackFrame] = []
    for f, item in enumerate(data["annolist"]):
        image = item.get("image") or [{}]
        regions = []
        for reg in item.get("ignore_regions") or []:
            pts = [(float(_one(p["x"])), float(_one(p["y"]))) for p in reg.get("point", [])]
            if len(pts) >= 3:
                regions.append(np.asarray(pts))
        fr = PoseTrackFrame(file_name=str(image[0].get("name", "")), image_id=f, ignore_regions=regions,
                            is_labeled=bool(_one(item["is_labeled"])) if "is_labeled" in item else None)
        for r, rect in enumerate(item.get("annorect") or []):
            kps = np.zeros((17, 3))
            present = np.zeros(17, dtype=bool)
            scores = None
            ap = rect.get("annopoints") or []
            for p in (ap[0].get("point", []) if ap else []):
                jid = int(_one(p["id"]))
                if not 0 <= jid < 15:
                    raise PosetoolError(f"{where}: annolist[{f}].annorect[{r}]: joint id {jid} outside 0..14")
                slot = POSEVAL_IDS[jid]
                kps[slot, :2] = float(_one(p["x"])), float(_one(p["y"]))
                kps[slot, 2] = float(_one(p.get("is_visible", [1])))
                present[slot] = True
                if "score" in p:
                    if scores is None:
                        scores = np.full(17, np.nan)
                    scores[slot] = float(_one(p["score"]))
            head = None
            if all(k in rect for k in ("x1", "y1", "x2", "y2")):
                head = np.array([float(_one(rect[k])) for k in ("x1", "y1", "x2", "y2")])
            tid = rect.get("track_id")
            fr.people.append(PoseTrackPerson(
                track_id=None if tid is None else int(_one(tid)), keypoints=kps, present=present,
                scores=scores, head_box=head,
                has_points_field=bool(ap) and isinstance(ap[0], dict) and "point" in ap[0],
            ))
        frames.append(fr)
    return PoseTrackSequence(name=name, frames=frames)


def read_posetrack_json(path: str | os.PathLike[str]) -> PoseTrackSequence:
    """Read one PoseTrack sequence file (2018 or 2017 format); the name is the file's stem."""
    p = Path(path)
    data = read_json(p, "a PoseTrack JSON file")
    if not isinstance(data, dict):
        raise PosetoolError(f"{p}: expected a PoseTrack JSON object, got a {type(data).__name__}")
    name = p.name.split(".")[0]
    if "annolist" in data:
        seq = _read_2017(data, name, str(p))
    elif "images" in data:
        seq = _read_2018(data, name, str(p))
    else:
        raise PosetoolError(f"{p}: not a PoseTrack file (neither 'images' (2018) nor 'annolist' (2017) is present)")
    seq.path = str(p)
    return seq


def read_posetrack(path: str | os.PathLike[str]) -> list[PoseTrackSequence]:
    """Read a PoseTrack file, or every ``*.json`` of a folder (sorted by name)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(q for q in p.iterdir() if q.suffix == ".json")
        if not files:
            raise PosetoolError(f"{p}: folder holds no *.json PoseTrack files")
        return [read_posetrack_json(q) for q in files]
    return [read_posetrack_json(p)]


def is_posetrack_json(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder or a ``.json`` file (not a pose stream)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() == ".json"


def parse_kp_thresholds(text: str | float) -> np.ndarray:
    """Per-slot keypoint confidence thresholds, (17,) in posetrack18 order, from ``--kp-thr``.

    ``"0.5"`` applies to every joint; ``"0.4,left_wrist=0.6,head_top=0.2"`` sets a default and
    the named joints (posetrack18 names), in any order; named joints alone leave the others at 0.
    Trackers report PoseTrack numbers after such a cut (keypoints of low confidence dropped),
    since poseval counts every listed joint as a claim.

    Raises:
        OptionError(``kp_thr``): a value outside [0, 1], an unknown joint name or a bad number.
    """
    from posetool.errors import OptionError

    default = 0.0
    named: dict[int, float] = {}
    for part in [p.strip() for p in str(text).split(",") if p.strip()]:
        name, _, value = part.rpartition("=")
        try:
            v = float(value)
        except ValueError:
            raise OptionError("kp_thr", f"takes numbers in [0, 1], optionally as joint=value; got {part!r}") from None
        if not 0.0 <= v <= 1.0:
            raise OptionError("kp_thr", f"values must lie in [0, 1]; got {part!r}")
        if not name:
            default = v
        elif name in POSETRACK18.keypoints:
            named[POSETRACK18.index(name)] = v
        else:
            raise OptionError("kp_thr", f"unknown joint {name!r}; posetrack18 joints are {', '.join(POSETRACK18.keypoints)}")
    thr = np.full(len(POSETRACK18.keypoints), default)
    for slot, v in named.items():
        thr[slot] = v
    return thr


def drop_low_confidence(frames: list[PoseTrackFrame], thr: np.ndarray) -> list[PoseTrackFrame]:
    """The predicted frames with every keypoint whose score is ≤ its slot's threshold made absent.

    The same cut as ``posetool export --to posetrack18 --kp-thr`` (absent joints are written as
    ``0, 0, 0``), so evaluating a stream with ``--kp-thr`` equals evaluating its export. People
    without scores keep all their keypoints (nothing to cut on); a person left with none stays, as
    the exported file would list them.
    """
    if not thr.any():
        return frames
    out = []
    for fr in frames:
        people = []
        for pe in fr.people:
            if pe.scores is None:
                people.append(pe)
                continue
            keep = pe.present & (pe.scores > thr)
            kps = np.where(keep[:, None], pe.keypoints, 0.0)
            people.append(replace(pe, present=keep, keypoints=kps))
        out.append(replace(fr, people=people))
    return out
