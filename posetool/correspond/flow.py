"""Optical-flow baselines for ``correspond``: pyramidal Lucas–Kanade (``lk``) and DIS dense flow (``dis``).

Instead of the learnt network, each query keypoint of frame t−1 is carried into frame t by OpenCV's
optical flow on the grayscale frames:

- ``lk``: :func:`cv2.calcOpticalFlowPyrLK` on the keypoints themselves (window ``win_size`` ×
  ``win_size``, ``max_level`` pyramid levels, 30 iterations or 0.01 px);
- ``dis``: :func:`cv2.DISOpticalFlow_create` (``DISOPTICAL_FLOW_PRESET_MEDIUM``) over the whole
  frame, read at each keypoint by bilinear interpolation.

Both run the same flow backwards, from the propagated point q in frame t to p' in frame t−1, and
the **affinity** (what the learnt model's map maximum is elsewhere) is

    affinity = exp(−e² / (2 · fb_sigma²)) · max(0, ncc) · [texture ≥ min_texture] · [found]

- e = |p' − p|, the forward–backward error in pixels; ``fb_sigma`` = 2 px by default (e = 2 px →
  0.61, 4.3 px → 0.10, the threshold ``recover`` and ``track`` use);
- ncc: normalised cross-correlation of the ``win_size`` × ``win_size`` patch around p in frame t−1
  and around q in frame t. A keypoint whose destination is covered by something else (an occluder)
  can pass the forward–backward check, since both flows may settle on the occluder's edge or on the
  smooth fill-in of a dense flow; its patch then does not look like the query's. On vtest.avi (10 fps,
  frames 0–59) the median ncc of LK's answers is 0.96 one frame apart, 0.74 five frames apart;
- texture: the weakest direction of the image gradient around p, the square root of the smaller
  eigenvalue of the mean structure tensor over the ``win_size`` window of frame t−1 (Sobel
  gradients, grey levels per pixel). A flat window says nothing about motion (the aperture
  problem); DIS fills flat regions in from their surroundings, so its forward–backward check alone
  would pass them. The default 0.5 grey level/px sits just above OpenCV LK's own
  ``minEigThreshold`` (1e-4 in its units ≈ 0.32 here);
- found: LK's status in both directions; for DIS, q inside frame t.

A keypoint outside frame t−1 keeps its position with affinity 0.

``at_instances`` (what ``track --similarity corr`` reads) models the flow's "map" as a Gaussian
around q with the affinity as peak: the value at person j's keypoint k is
``affinity_k · exp(−|x_jk − q_k|² / (2 (map_sigma · L)²))``, L the query person's longer box side
(its keypoints' extent without a box) and ``map_sigma`` = 0.05, so a keypoint within about a tenth
of the person's size of the propagated point counts above 0.1.

Coordinates: stream pixels put pixel centres at +0.5 (the design's convention), OpenCV at integers;
points are shifted by 0.5 on the way in and out.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from posetool.correspond.common import Correspondence
from posetool.correspond.pairs import person_window
from posetool.errors import OptionError

Propagated = tuple[np.ndarray, np.ndarray, np.ndarray]  # q in frame b, p' back in frame a, found mask
CENTRE = 0.5  # stream pixel centres sit at +0.5; OpenCV's at integer coordinates
DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 grayscale of a BGR (or already gray) frame."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def bilinear(field: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N, C) values of an (H, W, C) array at (N, 2) array coordinates (x, y), bilinear, clamped at the border."""
    h, w = field.shape[:2]
    x = np.clip(xy[:, 0], 0.0, w - 1.0)
    y = np.clip(xy[:, 1], 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2) if w > 1 else np.zeros(len(x), np.int64)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2) if h > 1 else np.zeros(len(y), np.int64)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def texture(gray: np.ndarray, xy: np.ndarray, window: int) -> np.ndarray:
    """(N,) texture of a grayscale frame at (N, 2) array coordinates: √(smaller eigenvalue) of the
    structure tensor (Sobel gradients in grey levels per pixel) averaged over the ``window`` ×
    ``window`` square around each point (the frame mirrored at its border); 0 outside the frame."""
    h, w = gray.shape[:2]
    r = window // 2
    ix = np.round(xy).astype(np.int64)
    inside = (ix[:, 0] >= 0) & (ix[:, 0] < w) & (ix[:, 1] >= 0) & (ix[:, 1] < h)
    pad = np.pad(gray.astype(np.float64), r + 1, mode="reflect")
    offsets = np.arange(-r - 1, r + 2)
    rows = (ix[:, 1].clip(0, h - 1) + r + 1)[:, None, None] + offsets[None, :, None]
    cols = (ix[:, 0].clip(0, w - 1) + r + 1)[:, None, None] + offsets[None, None, :]
    p = pad[rows, cols]  # (N, window + 2, window + 2): the window and a one-pixel rim for the Sobel taps
    dx = p[:, :, 2:] - p[:, :, :-2]
    dy = p[:, 2:, :] - p[:, :-2, :]
    gx = (dx[:, :-2] + 2 * dx[:, 1:-1] + dx[:, 2:]) / 8.0
    gy = (dy[:, :, :-2] + 2 * dy[:, :, 1:-1] + dy[:, :, 2:]) / 8.0
    a, b, c = (gx * gx).mean((1, 2)), (gx * gy).mean((1, 2)), (gy * gy).mean((1, 2))
    smaller = 0.5 * (a + c - np.sqrt((a - c) ** 2 + 4 * b * b))
    return np.where(inside, np.sqrt(np.maximum(smaller, 0.0)), 0.0)


def patch_ncc(gray_a: np.ndarray, gray_b: np.ndarray, xy_a: np.ndarray, xy_b: np.ndarray, window: int) -> np.ndarray:
    """(N,) normalised cross-correlation of the ``window`` × ``window`` patches around ``xy_a`` in
    ``gray_a`` and ``xy_b`` in ``gray_b`` (array coordinates, bilinear; 0 where either patch is flat)."""
    fa, fb = gray_a.astype(np.float32), gray_b.astype(np.float32)
    out = np.zeros(len(xy_a))
    for n, (pa, pb) in enumerate(zip(xy_a, xy_b)):
        a = cv2.getRectSubPix(fa, (window, window), (float(pa[0]), float(pa[1]))).astype(np.float64)
        b = cv2.getRectSubPix(fb, (window, window), (float(pb[0]), float(pb[1]))).astype(np.float64)
        a -= a.mean()
        b -= b.mean()
        norm = np.sqrt((a * a).sum() * (b * b).sum())
        out[n] = (a * b).sum() / norm if norm > 1e-9 else 0.0
    return out


class FlowCorrespondence:
    """Keypoint correspondences from optical flow (see module docstring); subclasses give :meth:`propagate`.

    The interface is :class:`posetool.correspond.infer.CorrespondenceEstimator`'s
    (:meth:`correspond`), so the ``correspond`` stage, ``recover`` and ``eval correspond`` run
    either unchanged.

    Args:
        fb_sigma: forward–backward error (px) at which the affinity falls to exp(−½) ≈ 0.61.
        map_sigma: width of the modelled map for ``at_instances``, × the query person's longer side.
        min_texture: keypoints whose window in frame t−1 has less texture (grey levels/px) get affinity 0.

    ``affinity = exp(−e² / (2 fb_sigma²)) · max(0, ncc) · [texture ≥ min_texture] · [found]``.
        win_size: side of the texture and ncc windows (and of LK's window), pixels.
    """

    def __init__(self, fb_sigma: float = 2.0, map_sigma: float = 0.05, min_texture: float = 0.5,
                 win_size: int = 21) -> None:
        if not fb_sigma > 0:
            raise OptionError("fb_sigma", f"must be > 0, got {fb_sigma}")
        if not map_sigma > 0:
            raise OptionError("map_sigma", f"must be > 0, got {map_sigma}")
        if min_texture < 0:
            raise OptionError("min_texture", f"must be ≥ 0, got {min_texture}")
        if win_size < 3 or win_size % 2 == 0:
            raise OptionError("win_size", f"must be an odd number ≥ 3, got {win_size}")
        self.fb_sigma = float(fb_sigma)
        self.map_sigma = float(map_sigma)
        self.min_texture = float(min_texture)
        self.win_size = int(win_size)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> FlowCorrespondence:
        """An estimator from a parameter map (a stream's provenance); keys it does not take are ignored."""
        accepted = inspect.signature(cls.__init__).parameters
        return cls(**{k: v for k, v in params.items() if k in accepted and k != "self"})

    def params(self) -> dict[str, Any]:
        """What the stage records in the stream's provenance (and ``recover`` re-queries with)."""
        return {"fb_sigma": self.fb_sigma, "map_sigma": self.map_sigma, "min_texture": self.min_texture,
                "win_size": self.win_size}

    def propagate(self, gray_a: np.ndarray, gray_b: np.ndarray, xy: np.ndarray) -> Propagated:
        """(N, 2) array coordinates in frame a → (q in frame b, p' back in frame a, found mask)."""
        raise NotImplementedError

    # --- entry point -----------------------------------------------------------------------------
    def correspond(self, image_a: np.ndarray, image_b: np.ndarray, queries: list[np.ndarray],
                   boxes: Sequence[Any] | None = None, people: np.ndarray | None = None,
                   frame_ids: tuple[int, int] | None = None) -> list[Correspondence]:
        """Correspondences of each query person of ``image_a`` (frame t−1) in ``image_b`` (frame t).

        Same arguments and result as :meth:`CorrespondenceEstimator.correspond`: ``queries`` per
        person (K, 3) x, y, confidence in stream pixels (NaN rows: absent); ``boxes`` their boxes or
        None; ``people`` (M, K, 3) keypoints of frame t for ``at_instances``; ``frame_ids`` is accepted
        for the same call signature (flow keeps nothing between pairs).
        """
        people = np.zeros((0, 0, 3)) if people is None else np.asarray(people, dtype=np.float64)
        boxes = list(boxes) if boxes is not None else [None] * len(queries)
        if not queries:
            return []
        gray_a, gray_b = to_gray(image_a), to_gray(image_b)
        h, w = gray_a.shape[:2]
        q = [np.asarray(x, dtype=np.float64) for x in queries]
        k = len(q[0])
        pts = np.concatenate([x[:, :2] for x in q]) - CENTRE  # OpenCV coordinates
        present = np.isfinite(pts).all(1)
        inside = present & (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
        moved = np.where(present[:, None], pts, np.nan)
        affinity = np.zeros(len(pts))
        if inside.any():
            p = pts[inside]
            fwd, back, found = self.propagate(gray_a, gray_b, p)
            fwd = np.where(np.isfinite(fwd).all(1, keepdims=True), fwd, p)
            fb = np.linalg.norm(back - p, axis=1)
            textured = texture(gray_a, p, self.win_size) >= self.min_texture
            ok = found & textured & np.isfinite(fb)
            looks = np.clip(patch_ncc(gray_a, gray_b, p, fwd, self.win_size), 0.0, 1.0)
            affinity[inside] = np.where(ok, np.exp(-np.nan_to_num(fb) ** 2 / (2 * self.fb_sigma ** 2)) * looks, 0.0)
            moved[inside] = fwd
        results = []
        for i, qi in enumerate(q):
            rows = slice(i * k, (i + 1) * k)
            kp = np.full((k, 3), np.nan)
            kp[:, :2] = moved[rows] + CENTRE
            kp[:, 2] = affinity[rows]
            missing = ~np.isfinite(qi[:, :2]).all(1)
            kp[missing] = np.nan
            at = self._at_instances(kp, qi, boxes[i], people)
            results.append(Correspondence(kp, at))
        return results

    def _at_instances(self, kp: np.ndarray, query: np.ndarray, box: Any, people: np.ndarray) -> np.ndarray:
        """(M, K) modelled map values of one query person at frame t's people (NaN where either lacks a keypoint)."""
        m = len(people)
        if m == 0 or people.size == 0:
            return np.zeros((m, len(kp)))
        joints = np.nan_to_num(query[:, :3].copy())
        joints[:, 2] = np.isfinite(query[:, :2]).all(1)
        xywh = None
        if box is not None:
            b = np.asarray(box, dtype=np.float64)
            xywh = np.array([b[0], b[1], b[2] - b[0], b[3] - b[1]])
        _, side = person_window(joints, xywh)
        d2 = ((people[..., :2] - kp[None, :, :2]) ** 2).sum(-1)
        return kp[None, :, 2] * np.exp(-d2 / (2 * (self.map_sigma * side) ** 2))


class LucasKanade(FlowCorrespondence):
    """``lk``: pyramidal Lucas–Kanade (:func:`cv2.calcOpticalFlowPyrLK`) forwards and backwards.

    Args:
        max_level: pyramid levels above the frame (3: motion up to roughly 8 × the window).
        iterations, epsilon: stopping criteria per level.
    """

    def __init__(self, fb_sigma: float = 2.0, map_sigma: float = 0.05, min_texture: float = 0.5,
                 win_size: int = 21, max_level: int = 3, iterations: int = 30, epsilon: float = 0.01) -> None:
        super().__init__(fb_sigma, map_sigma, min_texture, win_size)
        if max_level < 0:
            raise OptionError("max_level", f"must be ≥ 0, got {max_level}")
        self.max_level = int(max_level)
        self.criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, int(iterations), float(epsilon))

    def params(self) -> dict[str, Any]:
        return {**super().params(), "max_level": self.max_level, "iterations": self.criteria[1],
                "epsilon": self.criteria[2]}

    def _track(self, a: np.ndarray, b: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, status, _ = cv2.calcOpticalFlowPyrLK(a, b, xy.astype(np.float32).reshape(-1, 1, 2), None,
                                                  winSize=(self.win_size, self.win_size), maxLevel=self.max_level,
                                                  criteria=self.criteria)
        return out.reshape(-1, 2).astype(np.float64), status.reshape(-1).astype(bool)

    def propagate(self, gray_a: np.ndarray, gray_b: np.ndarray, xy: np.ndarray) -> Propagated:
        fwd, ok_f = self._track(gray_a, gray_b, xy)
        back, ok_b = self._track(gray_b, gray_a, fwd)
        return fwd, back, ok_f & ok_b


class DisFlow(FlowCorrespondence):
    """``dis``: DIS dense optical flow (Kroeger et al. 2016, :func:`cv2.DISOpticalFlow_create`) both ways,
    read bilinearly at the keypoints.

    Args:
        preset: ``ultrafast``, ``fast`` or ``medium`` (OpenCV's presets; default medium).
    """

    def __init__(self, fb_sigma: float = 2.0, map_sigma: float = 0.05, min_texture: float = 0.5,
                 win_size: int = 21, preset: str = "medium") -> None:
        super().__init__(fb_sigma, map_sigma, min_texture, win_size)
        if preset not in DIS_PRESETS:
            raise OptionError("preset", f"must be one of {', '.join(DIS_PRESETS)}, got {preset!r}")
        self.preset = preset
        self.dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])

    def params(self) -> dict[str, Any]:
        return {**super().params(), "preset": self.preset}

    def flows(self, gray_a: np.ndarray, gray_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 2) forward (a → b) and backward (b → a) flow, in pixels."""
        return self.dis.calc(gray_a, gray_b, None), self.dis.calc(gray_b, gray_a, None)

    def propagate(self, gray_a: np.ndarray, gray_b: np.ndarray, xy: np.ndarray) -> Propagated:
        fwd_flow, bwd_flow = self.flows(gray_a, gray_b)
        h, w = gray_b.shape[:2]
        q = xy + bilinear(fwd_flow, xy)
        found = (q[:, 0] >= 0) & (q[:, 0] <= w - 1) & (q[:, 1] >= 0) & (q[:, 1] <= h - 1)
        back = q + bilinear(bwd_flow, q)
        return q, back, found
