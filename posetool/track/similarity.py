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

Every kind is registered by name in :data:`SIMILARITIES` (norfair's ``get_distance_by_name``):
:func:`get_similarity` resolves a name, :class:`SimilarityWeights` parses a weighted mix of names,
and :func:`similarity_matrix` scores one frame's :class:`MatchInputs` with a mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from posetool.detect.boxes import box_iou
from posetool.errors import OptionError
from posetool.pose2d.oks import oks_iou
from posetool.skeletons import get_skeleton
from posetool.stream.encoding import points_array


@dataclass
class MatchInputs:
    """One frame's matching problem: what every similarity kind may read.

    Attributes:
        tracks: the last instance of each live track.
        people: the instances of the current frame t.
        sources: per track, its instance index in frame t−1 (``None`` if it was not seen there):
            the key of its correspondence entry.
        correspondences: source index → this frame's correspondence entry (``keypoints``: K×3
            ``x, y, affinity``; optional ``at_instances``: N×K map values at each person's keypoints).
        skeleton: keypoint layout (OKS sigmas).
        kp_thr: keypoint confidence counted as present.
        corr_thr: correspondence value counted as a hit.
    """

    tracks: list[dict]
    people: list[dict]
    sources: list[int | None]
    correspondences: dict[int, dict]
    skeleton: str
    kp_thr: float
    corr_thr: float

    @cached_property
    def oks(self) -> np.ndarray:
        """(T, N) OKS, computed once per frame: ``oks`` and ``corr``'s fallback both use it."""
        return oks_matrix(self.tracks, self.people, self.skeleton, self.kp_thr)


SimilarityFn = Callable[[MatchInputs], np.ndarray]

# Name → (T, N) similarity in [0, 1]; filled by @register_similarity below. Its order is the
# order error messages list the names in.
SIMILARITIES: dict[str, SimilarityFn] = {}


def register_similarity(name: str) -> Callable[[SimilarityFn], SimilarityFn]:
    """Register a similarity kind under ``name`` (a decorator)."""

    def add(fn: SimilarityFn) -> SimilarityFn:
        if name in SIMILARITIES:
            raise ValueError(f"similarity {name!r} is registered twice")
        SIMILARITIES[name] = fn
        return fn

    return add


def get_similarity(name: str) -> SimilarityFn:
    """The similarity registered as ``name``; an unknown name is an :class:`OptionError` listing the known ones."""
    try:
        return SIMILARITIES[name]
    except KeyError:
        raise OptionError("similarity", f"unknown kind {name!r}; use {', '.join(SIMILARITIES)} "
                          "or a mix like corr:0.5,oks:0.5", sep=": ") from None


@dataclass(frozen=True)
class SimilarityWeights:
    """A weighted mix of registered similarity kinds, e.g. ``corr:0.5,oks:0.5``; weights sum to 1."""

    weights: dict[str, float]

    @staticmethod
    def parse(text: str) -> "SimilarityWeights":
        """Parse ``name[:weight],...`` (a missing weight is 1); raises :class:`OptionError` naming ``similarity``."""
        parts: dict[str, float] = {}
        for item in text.split(","):
            name, _, w = item.strip().partition(":")
            get_similarity(name)
            try:
                parts[name] = float(w) if w else 1.0
            except ValueError:
                raise OptionError("similarity", f"weight of {name} must be a number, got {w!r}", sep=": ") from None
            if parts[name] < 0:
                raise OptionError("similarity", f"weight of {name} must be ≥ 0", sep=": ")
        total = sum(parts.values())
        if total <= 0:
            raise OptionError("similarity", "weights must not all be 0", sep=": ")
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


def corr_matrix(tracks: list[dict], people: list[dict], sources: list[int | None], correspondences: dict[int, dict],
                skeleton: str, kp_thr: float, corr_thr: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) correspondence similarity and a (T,) mask of tracks that have correspondences.

    Args:
        tracks: last instances of the tracks.
        sources: per track, its index in frame t−1 (``None`` if the track was not seen in frame t−1).
        correspondences: source index → the correspondence entry of this frame (``keypoints``:
            K×3 ``x, y, affinity``; optional ``at_instances``: N×K map values at each person's keypoints).
    """
    out = np.zeros((len(tracks), len(people)))
    has = np.zeros(len(tracks), dtype=bool)
    sig = get_skeleton(skeleton).sigmas_array()
    var = (2 * sig) ** 2
    pk = [_kps(p) for p in people]
    for i, (t, source) in enumerate(zip(tracks, sources)):
        entry = correspondences.get(source) if source is not None else None
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


@register_similarity("corr")
def corr_similarity(m: MatchInputs) -> np.ndarray:
    """Correspondence similarity; tracks without correspondences (unseen in t−1) use OKS."""
    corr, has = corr_matrix(m.tracks, m.people, m.sources, m.correspondences, m.skeleton, m.kp_thr, m.corr_thr)
    return np.where(has[:, None], corr, m.oks)


@register_similarity("oks")
def oks_similarity(m: MatchInputs) -> np.ndarray:
    """OKS between each track's last pose and each person."""
    return m.oks


@register_similarity("iou")
def iou_similarity(m: MatchInputs) -> np.ndarray:
    """Box IoU (keypoint extents for instances without a box)."""
    return iou_matrix(m.tracks, m.people)


def similarity_matrix(inputs: MatchInputs, weights: SimilarityWeights) -> np.ndarray:
    """The weighted (T, N) similarity used for assignment."""
    total = np.zeros((len(inputs.tracks), len(inputs.people)))
    if not inputs.tracks or not inputs.people:
        return total
    # Terms are added in reverse registry order (iou, oks, corr), the order they were always
    # summed in: floating-point sums depend on order, and a three-way mix must score as before.
    for name in reversed(SIMILARITIES):
        if name in weights.weights:
            total += weights.weights[name] * SIMILARITIES[name](inputs)
    return total
