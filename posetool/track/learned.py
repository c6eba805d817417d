"""Learned two-sided smoothing of tracks (``track --smooth smoothnet``): SmoothNet over each track.

:class:`~posetool.nn.smoothnet.SmoothNet` refines every coordinate of a track's keypoints over
windows of T consecutive frames; a frame's value is the mean over the windows of the track's
unbroken run that contain it (as the official inference, stride 1). Inside the tracker the
output is delayed by T − 1 frames so that every such window is complete when a frame leaves.

Normalisation (the same in training and inference, :func:`normalise`): each coordinate's mean
over the window is subtracted and the result divided by the person's mean height over the window
(the keypoints' vertical extent). The official code divides by the image size instead: one
person filling a JHMDB frame. Here several people of any size share a frame, so the window is made
translation- and scale-free; the network then sees motion in body heights wherever the person is.

Frames not covered by a full window (runs shorter than T, or a window containing a missing
coordinate) get ``None`` back and the caller keeps another smoother's value for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from posetool.track.leftright import pose_height

_MIN_HEIGHT = 1.0  # px: a degenerate pose still gives a finite scale


def window_scale(xy: np.ndarray) -> float:
    """The mean person height (px) of (T, K, 2) points: each frame's vertical extent, averaged."""
    heights = [pose_height(frame, None) for frame in xy]
    return max(float(np.mean(heights)), _MIN_HEIGHT)


def normalise(xy: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, K, 2) points → ((K · 2, T) network input, (K · 2,) per-coordinate offset).

    The offset is each coordinate's mean over the window; input = (value − offset) / ``scale``.
    """
    t = xy.shape[0]
    series = xy.reshape(t, -1).T  # (K·2, T)
    offset = series.mean(axis=1)
    return (series - offset[:, None]) / scale, offset


def denormalise(out: np.ndarray, offset: np.ndarray, scale: float, keypoints: int) -> np.ndarray:
    """Network output (K · 2, T) back to (T, K, 2) points in pixels."""
    return (out * scale + offset[:, None]).T.reshape(-1, keypoints, 2)


class LearnedSmoother:
    """Runs a loaded SmoothNet on tracks, one output frame at a time, caching each window's result.

    Args:
        loaded: a :class:`posetool.hub.loader.LoadedModel` (task ``smooth``).
    """

    def __init__(self, loaded: Any) -> None:
        self.module = loaded.module
        self.device = loaded.device
        self.name = loaded.name
        self.window = int(self.module.window)
        # track id → window start frame → (the window's raw (T, K, 2) points, its refined points)
        self.cache: dict[Any, dict[int, tuple[np.ndarray, np.ndarray]]] = {}

    def refine(self, track: Any, frame: int, poses: list[tuple[int, np.ndarray]]) -> np.ndarray | None:
        """The refined (K, 2) points of ``track`` at ``frame``, or None where no full window covers it.

        ``poses``: the track's (frame number, (K, ≥2) keypoints) in frames ``frame`` − (T − 1) …
        ``frame`` + (T − 1), sorted, ``frame`` among them; frames may be missing (track gaps).
        """
        t = self.window
        frames = [g for g, _ in poses]
        centre = frames.index(frame)
        xy = [np.asarray(k, dtype=np.float64)[:, :2] for _, k in poses]
        usable = [bool(np.isfinite(p).all()) and p.shape == xy[centre].shape for p in xy]
        if not usable[centre]:
            return None
        lo = hi = centre  # the unbroken run of usable consecutive frames around `frame`
        while lo > 0 and usable[lo - 1] and frames[lo - 1] == frames[lo] - 1:
            lo -= 1
        while hi + 1 < len(frames) and usable[hi + 1] and frames[hi + 1] == frames[hi] + 1:
            hi += 1
        starts = range(max(lo, centre - t + 1), min(centre, hi - t + 1) + 1)  # list indices of window starts
        cache = self.cache.setdefault(track, {})
        for g in [g for g in cache if g < frame - t + 1]:
            del cache[g]  # frames leave in order: windows starting earlier are never needed again
        if not starts:
            return None
        todo = []
        for s in starts:
            window = np.stack(xy[s:s + t])
            hit = cache.get(frames[s])
            if hit is None or not np.array_equal(hit[0], window):  # labels or ids changed since: recompute
                todo.append((frames[s], window))
        if todo:
            for (g, window), refined in zip(todo, self._run([w for _, w in todo])):
                cache[g] = (window, refined)
        return np.mean([cache[frames[s]][1][centre - s] for s in starts], axis=0)

    def forget(self, track: Any) -> None:
        """Drop a track's cached windows (it left the tracker)."""
        self.cache.pop(track, None)

    def _run(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """Refine (T, K, 2) windows in one batch."""
        import torch  # here, so that tracking without the network never imports torch

        keypoints = windows[0].shape[1]
        scales = [window_scale(w) for w in windows]
        inputs, offsets = zip(*(normalise(w, s) for w, s in zip(windows, scales)))
        with torch.inference_mode():
            x = torch.as_tensor(np.stack(inputs), dtype=torch.float32, device=self.device)  # (N, K·2, T)
            out = self.module(x).double().cpu().numpy()
        return [denormalise(o, off, s, keypoints) for o, off, s in zip(out, offsets, scales)]
