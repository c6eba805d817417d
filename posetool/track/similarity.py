"""Similarity between a track's last pose and the people of the current frame, each in [0, 1].

- ``iou``: box IoU.
- ``oks``: COCO object keypoint similarity (:func:`posetool.pose2d.oks.oks_iou`) between the track's
  last keypoints and each person's, counting keypoints confident (> ``kp_thr``) in both.
- ``corr``: the paper's correspondence similarity (Rafi et al. 2020): the fraction of the track's
  keypoints whose correspondence map, read at the person's same keypoint, is above
  ``corr_thr``. ``posetool correspond`` writes those map values per target person
  (``at_instances``); without them the map is modelled as the affinity times an OKS-shaped
  Gaussian around the correspondence's arg-max. Tracks not seen in the previous frame have no
  correspondences and fall back to ``oks`` (re-identification by pose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetool.detect.boxes import box_iou
from posetool.pose2d.oks import oks_iou
from posetool.skeletons import get_skeleton
from posetool.stream.encoding import points_array

KINDS = ("corr", "oks", "iou")


@dataclass(frozen=True)
class SimilarityWeights:
    """A weighted mix of the similarity kinds, e.g. ``corr:0.5,oks:0.5``; weights sum to 1."""

    weights: dict[str, float]

    @staticmethod
    def parse(text: str) -> "SimilarityWeights":
        parts: dict[str, float] = {}
        for item in text.split(","):
            name, _, w = item.strip().partition(":")
            if name not in KINDS:
                raise ValueError(f"--similarity: unknown kind {name!r}; use {', '.join(KINDS)} or a mix like corr:0.5,oks:0.5")
            try:
                parts[name] = float(w) if w else 1.0
            except ValueError:
                raise ValueError(f"--similarity: weight of {name} must be a number, got {w!r}") from None
            if parts[name] < 0:
                raise ValueError(f"--similarity: weight of {name} must be ≥ 0")
        total = sum(parts.values())
        if total <= 0:
            raise ValueError("--similarity: weights must not all be 0")
        return SimilarityWeights({k: v / total for k, v in parts.items()})


def _area(inst: dict) -> float:
    """Object area in pixels² for OKS: the box area, else the keypoints' extent."""
    box = inst.get("bbox")
    if box is not None:
        return max(1.0, (box[2] - box[0]) * (box[3] - box[1]))
    kps = _kps(inst)
    if kps is None:
        return 1.0
    ok = np.isfinite(kps[:, 0])
    if ok.sum() < 2:
        return 1.0
    ext = kps[ok, :2].max(0) - kps[ok, :2].min(0)
    return max(1.0, float(ext[0] * ext[1]))


def _kps(inst: dict) -> np.ndarray | None:
    kp = inst.get("keypoints")
    if kp is None or len(kp) == 0:
        return None
    return points_array(kp)


def _box(inst: dict) -> np.ndarray | None:
    if inst.get("bbox") is not None:
        return np.asarray(inst["bbox"], dtype=np.float64)
    kps = _kps(inst)
    if kps is None or not np.isfinite(kps[:, 0]).any():
        return None
    ok = np.isfinite(kps[:, 0])
    return np.concatenate([kps[ok, :2].min(0), kps[ok, :2].max(0)])


def iou_matrix(tracks: list[dict], people: list[dict]) -> np.ndarray:
    """(T, N) box IoU; instances without a box use their keypoints' extent (0 if none)."""
    out = np.zeros((len(tracks), len(people)))
    tb = [_box(t) for t in tracks]
    pb = [_box(p) for p in people]
    ti = [i for i, b in enumerate(tb) if b is not None]
    pi = [j for j, b in enumerate(pb) if b is not None]
    if ti and pi:
        out[np.ix_(ti, pi)] = box_iou(np.stack([tb[i] for i in ti]), np.stack([pb[j] for j in pi]))
    return out


def oks_matrix(tracks: list[dict], people: list[dict], skeleton: str, kp_thr: float) -> np.ndarray:
    """(T, N) OKS between each track's last pose and each person (0 without keypoints)."""
    out = np.zeros((len(tracks), len(people)))
    sig = get_skeleton(skeleton).sigmas_array()
    pk = [_kps(p) for p in people]
    cols = [j for j, k in enumerate(pk) if k is not None and len(k) == len(sig)]
    if not cols:
        return out
    d = np.nan_to_num(np.stack([pk[j] for j in cols]), nan=-1e6)
    d[..., 2] = np.where(np.stack([np.isfinite(pk[j][:, 2]) for j in cols]), d[..., 2], 0.0)
    areas = np.array([_area(people[j]) for j in cols])
    for i, t in enumerate(tracks):
        g = _kps(t)
        if g is None or len(g) != len(sig):
            continue
        g = np.where(np.isfinite(g), g, 0.0)
        out[i, cols] = oks_iou(g, d, _area(t), areas, sig, in_vis_thre=kp_thr)
    return out


def corr_matrix(tracks: list[dict], people: list[dict], correspondences: dict[int, dict], skeleton: str,
                kp_thr: float, corr_thr: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) correspondence similarity and a (T,) mask of tracks that have correspondences.

    Args:
        tracks: last instances of the tracks, each with ``_source`` = its index in frame t−1 (or
            ``None`` if the track was not seen in frame t−1).
        correspondences: source index → the correspondence entry of this frame (``keypoints``:
            K×3 ``x, y, affinity``; optional ``at_instances``: N×K map values at each person's keypoints).
    """
    out = np.zeros((len(tracks), len(people)))
    has = np.zeros(len(tracks), dtype=bool)
    sig = get_skeleton(skeleton).sigmas_array()
    var = (2 * sig) ** 2
    pk = [_kps(p) for p in people]
    for i, t in enumerate(tracks):
        entry = correspondences.get(t.get("_source")) if t.get("_source") is not None else None
        if entry is None:
            continue
        has[i] = True
        query = _kps(t)
        conf_ok = query[:, 2] > kp_thr if query is not None else np.ones(len(sig), bool)
        n_query = max(1, int(conf_ok.sum()))
        values = entry.get("at_instances")
        if values is not None and len(values) == len(people):
            v = points_array(values)
            out[i] = ((np.nan_to_num(v, nan=0.0) > corr_thr) & conf_ok[None, :]).sum(axis=1) / n_query
            continue
        c = points_array(entry["keypoints"])
        for j, k in enumerate(pk):
            if k is None or len(k) != len(c):
                continue
            d2 = (k[:, 0] - c[:, 0]) ** 2 + (k[:, 1] - c[:, 1]) ** 2
            model = np.nan_to_num(c[:, 2] * np.exp(-d2 / var / _area(people[j]) / 2), nan=0.0)
            out[i, j] = ((model > corr_thr) & conf_ok).sum() / n_query
    return out, has


def similarity_matrix(tracks: list[dict], people: list[dict], weights: SimilarityWeights, *, skeleton: str,
                      correspondences: dict[int, dict], kp_thr: float, corr_thr: float) -> np.ndarray:
    """The weighted (T, N) similarity used for assignment."""
    total = np.zeros((len(tracks), len(people)))
    if not tracks or not people:
        return total
    w = weights.weights
    oks = oks_matrix(tracks, people, skeleton, kp_thr) if ("oks" in w or "corr" in w) else None
    if "iou" in w:
        total += w["iou"] * iou_matrix(tracks, people)
    if "oks" in w:
        total += w["oks"] * oks
    if "corr" in w:
        corr, has = corr_matrix(tracks, people, correspondences, skeleton, kp_thr, corr_thr)
        total += w["corr"] * np.where(has[:, None], corr, oks)
    return total
