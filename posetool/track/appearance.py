"""A colour appearance descriptor of a person, for re-identifying lost tracks (``track --reid appearance``).

Colours are sampled where the pose says the body is, so the background inside the box counts
little: four regions — torso (the shoulder-hip quadrilateral, shrunk towards its centre), upper
legs (hip → knee), lower legs (knee → ankle), arms (shoulder → elbow → wrist). Without a usable
pose a region falls back to a fixed part of the box (torso: rows 20–50 %, legs: 50–75 % and
75–95 %, columns 30–70 %). Each region's pixels give a soft histogram (:func:`_histogram`) of
16 hues for coloured pixels plus 4 brightness bins for grey, black and white ones. Shading
changes brightness more than hue, so hue carries most of it.

Only clean views describe a person well: :func:`clean_view` rejects people whose box touches the
left or right image border (partly out of view), and samples that fall in the box of someone
standing in front (:func:`occluders`) are left out.

The embedding stores, per region, the square root of the L1-normalised histogram (so the
Bhattacharyya coefficient of two histograms is a dot product) and whether the region was seen.
:func:`appearance_distance` is the mean Hellinger distance √(1 − BC) over regions seen in both,
in [0, 1] (1 when no region is shared).
"""

from __future__ import annotations

import cv2
import numpy as np

REGIONS = ("torso", "upper_legs", "lower_legs", "arms")
_HUE_BINS, _GREY_BINS = 16, 4
BINS = _HUE_BINS + _GREY_BINS
DIM = len(REGIONS) * (BINS + 1)  # per region: histogram, then a seen flag
_MIN_PIXELS = 12  # fewer samples than this: the region counts as unseen

# COCO-17 indices.
_LS, _RS, _LE, _RE, _LW, _RW, _LH, _RH, _LK, _RK, _LA, _RA = 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16


def _segment_samples(a: np.ndarray, b: np.ndarray, width: float, n_along: int = 8, n_across: int = 3) -> np.ndarray:
    """(n_along · n_across, 2) points on a band of ``width`` px around segment a → b (ends excluded)."""
    t = (np.arange(n_along) + 0.5) / n_along
    d = b - a
    length = float(np.hypot(*d))
    if length < 1e-6:
        return np.zeros((0, 2))
    normal = np.array([-d[1], d[0]]) / length
    offs = np.linspace(-0.5, 0.5, n_across) * width
    return (a[None, None] + t[:, None, None] * d[None, None] + offs[None, :, None] * normal[None, None]).reshape(-1, 2)


def _quad_samples(corners: np.ndarray, shrink: float = 0.6, n: int = 6) -> np.ndarray:
    """(n², 2) points on a grid inside quadrilateral ``corners`` (4, 2; in order), shrunk towards its centre."""
    c = corners.mean(axis=0)
    q = c + shrink * (corners - c)
    u = (np.arange(n) + 0.5) / n
    top = q[0][None] + u[:, None] * (q[1] - q[0])[None]
    bottom = q[3][None] + u[:, None] * (q[2] - q[3])[None]
    return (top[:, None] + u[None, :, None] * (bottom - top)[:, None]).reshape(-1, 2)


def _box_samples(box: np.ndarray, rows: tuple[float, float], n: int = 6) -> np.ndarray:
    """(n², 2) grid points in the box's columns 30–70 % and the given row fractions."""
    x1, y1, x2, y2 = box
    xs = x1 + (0.3 + 0.4 * (np.arange(n) + 0.5) / n) * (x2 - x1)
    ys = y1 + (rows[0] + (rows[1] - rows[0]) * (np.arange(n) + 0.5) / n) * (y2 - y1)
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def region_samples(kps: np.ndarray | None, box: np.ndarray | None, kp_thr: float) -> dict[str, np.ndarray]:
    """Sample points (N, 2), image pixels, of each region (see module docstring)."""
    out = {r: np.zeros((0, 2)) for r in REGIONS}
    ok = np.zeros(17, bool)
    if kps is not None and len(kps) == 17:
        ok = np.isfinite(kps[:, :2]).all(axis=1) & (np.nan_to_num(kps[:, 2], nan=0.0) > kp_thr)
    if box is not None:
        height = float(box[3] - box[1])
    elif ok.sum() >= 2:
        height = float(np.ptp(kps[ok, 1]))  # type: ignore[index]
    else:
        return out
    width = max(2.0, 0.07 * height)  # a limb band about a limb's thickness
    p = kps[:, :2] if kps is not None and len(kps) == 17 else None
    if p is not None and ok[[_LS, _RS, _RH, _LH]].all():
        out["torso"] = _quad_samples(p[[_LS, _RS, _RH, _LH]])
    elif box is not None:
        out["torso"] = _box_samples(box, (0.2, 0.5))
    for name, chains, rows in (("upper_legs", ((_LH, _LK), (_RH, _RK)), (0.5, 0.75)),
                               ("lower_legs", ((_LK, _LA), (_RK, _RA)), (0.75, 0.95)),
                               ("arms", ((_LS, _LE), (_LE, _LW), (_RS, _RE), (_RE, _RW)), None)):
        pts = [_segment_samples(p[a], p[b], width) for a, b in chains if p is not None and ok[a] and ok[b]]
        if pts:
            out[name] = np.concatenate(pts)
        elif box is not None and rows is not None:
            out[name] = _box_samples(box, rows)
    return out


def _soft_bins(position: np.ndarray, n: int, circular: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear soft binning of continuous bin positions (bin k is centred on k): (low bin, high bin,
    weight of the high bin) per value; circular wraps, otherwise positions are clipped to [0, n − 1]."""
    if not circular:
        position = np.clip(position, 0.0, n - 1.0)
    low = np.floor(position)
    frac = position - low
    low = low.astype(int)
    high = low + 1
    if circular:
        low, high = low % n, high % n
    else:
        high = np.minimum(high, n - 1)
    return low, high, frac


def _histogram(hsv: np.ndarray) -> np.ndarray:
    """(BINS,) soft histogram of (N, 3) OpenCV HSV pixels (H in 0–179, S and V in 0–255).

    A pixel is split between the hue bins and the brightness bins by its colourfulness, a ramp
    from S = 30 to 80 (times a ramp from V = 30 to 60), so a pale shirt whose saturation hovers
    around a threshold does not jump between the two halves under changing light; within each
    half it is split linearly between its two nearest bins (hue wraps round).
    """
    h, s, v = (hsv[:, k].astype(np.float64) for k in range(3))
    colour = np.clip((s - 30.0) / 50.0, 0.0, 1.0) * np.clip((v - 30.0) / 30.0, 0.0, 1.0)
    out = np.zeros(BINS)
    lo, hi, f = _soft_bins(h / 180.0 * _HUE_BINS - 0.5, _HUE_BINS, circular=True)
    np.add.at(out, lo, colour * (1 - f))
    np.add.at(out, hi, colour * f)
    lo, hi, f = _soft_bins(v / 256.0 * _GREY_BINS - 0.5, _GREY_BINS, circular=False)
    np.add.at(out, _HUE_BINS + lo, (1 - colour) * (1 - f))
    np.add.at(out, _HUE_BINS + hi, (1 - colour) * f)
    return out


def describe(image: np.ndarray, kps: np.ndarray | None, box: np.ndarray | None, kp_thr: float = 0.2,
             hidden: list[np.ndarray] | None = None) -> np.ndarray:
    """(DIM,) appearance embedding of one person in a BGR image (H, W, 3); samples inside any box of
    ``hidden`` (people in front, :func:`occluders`) are left out."""
    h, w = image.shape[:2]
    out = np.zeros(DIM)
    for r, (name, pts) in enumerate(region_samples(kps, box, kp_thr).items()):
        if len(pts) == 0:
            continue
        xy = np.round(pts).astype(int)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        for b in hidden or []:
            inside &= ~((pts[:, 0] >= b[0]) & (pts[:, 0] <= b[2]) & (pts[:, 1] >= b[1]) & (pts[:, 1] <= b[3]))
        if inside.sum() < _MIN_PIXELS:
            continue
        bgr = image[xy[inside, 1], xy[inside, 0]].reshape(-1, 1, 3)
        hist = _histogram(cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).reshape(-1, 3))
        base = r * (BINS + 1)
        out[base:base + BINS] = np.sqrt(hist / hist.sum())
        out[base + BINS] = 1.0
    return out


def clean_view(box: np.ndarray | None, width: int, margin: float = 2.0) -> bool:
    """Whether a person's box keeps ``margin`` px from the left and right image borders: people leave
    and enter the view sideways, and a box cut there shows part of a person (a box cut at the
    bottom still shows the clothes)."""
    return box is not None and box[0] >= margin and box[2] <= width - margin


def occluders(boxes: list[np.ndarray | None], i: int) -> list[np.ndarray]:
    """The boxes of people in front of person ``i`` (their box bottom is lower in the image, so they
    stand nearer the camera on a common ground) that overlap its box."""
    me = boxes[i]
    if me is None:
        return []
    out = []
    for k, b in enumerate(boxes):
        if k == i or b is None or b[3] <= me[3]:
            continue
        if min(me[2], b[2]) > max(me[0], b[0]) and min(me[3], b[3]) > max(me[1], b[1]):
            out.append(b)
    return out


def _width(embedding: np.ndarray) -> int:
    """Values per region of an embedding: its vector, then the seen flag (colour: BINS + 1)."""
    return len(embedding) // len(REGIONS)


def merge(mean: np.ndarray | None, new: np.ndarray, rate: float) -> np.ndarray:
    """Running mean of embeddings: regions seen in ``new`` move ``rate`` of the way towards it
    (taken as they are where ``mean`` has not seen them), then each region is renormalised.
    Works for any embedding of this layout (per region a unit vector and a seen flag)."""
    if mean is None:
        return new.copy()
    out = mean.copy()
    n = _width(new) - 1
    for r in range(len(REGIONS)):
        base = r * (n + 1)
        if new[base + n] == 0:
            continue
        if out[base + n] == 0:
            out[base:base + n + 1] = new[base:base + n + 1]
            continue
        v = (1 - rate) * out[base:base + n] + rate * new[base:base + n]
        out[base:base + n] = v / max(np.linalg.norm(v), 1e-12)
    return out


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean √(1 − max(0, a_r · b_r)) over regions r seen in both embeddings; 1.0 when none is shared.

    For the colour descriptor a_r · b_r is the Bhattacharyya coefficient (a Hellinger distance);
    for unit feature vectors (:mod:`features`) it is their cosine.
    """
    total, k = 0.0, 0
    n = _width(a) - 1
    for r in range(len(REGIONS)):
        base = r * (n + 1)
        if a[base + n] == 0 or b[base + n] == 0:
            continue
        dot = float(np.clip(a[base:base + n] @ b[base:base + n], 0.0, 1.0))
        total += np.sqrt(1.0 - dot)
        k += 1
    return total / k if k else 1.0
