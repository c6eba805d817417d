"""Sequence windows: edge padding, chunk bounds, and the training batch generator.

VideoPose3D's convolutions are valid (unpadded), so inputs are padded by replicating the first
and last frames ("edge" mode): ``pad`` frames per side, shifted left by ``causal_shift = pad``
in causal mode. :class:`ChunkedBatches` is the official ``ChunkedGenerator`` for training:
every sequence is cut into chunks of ``chunk_length`` output frames, each chunk appears once as
is and once mirrored when augmenting, and the list is permuted each epoch with its own
``numpy.random.RandomState`` (seed 1234 for labelled data, 4321 for unlabelled).

Beyond the paper, :class:`DetectionNoise` corrupts the 2D input of training chunks the way a 2D
pose model errs (small per-frame scatter plus runs of frames where a joint sits far off), so a
lifter trained on exact 2D copes with detections; VideoPose3D itself trains on CPN detections.
:class:`DepthRescale` moves each training chunk's person along the camera rays to another depth, so
the lifter learns that a body's size does not follow its size in the frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.lift3d.flip import flip_camera
from posetool.skeletons import get_skeleton


def pad_edge(seq: np.ndarray, left: int, right: int) -> np.ndarray:
    """Replicate the first frame ``left`` times and the last ``right`` times. seq: (T, ...)."""
    if left < 0 or right < 0:
        raise ValueError(f"pad_edge: negative padding ({left}, {right})")
    if left == 0 and right == 0:
        return seq
    return np.pad(seq, ((left, right),) + ((0, 0),) * (seq.ndim - 1), mode="edge")


def chunk_bounds(length: int, chunk_length: int) -> np.ndarray:
    """Start/end frames of the chunks of one sequence, centred as the official generator does.

    Returns ``n_chunks + 1`` bounds; the first may be negative and the last past ``length``
    (the overhang, split evenly, is edge-padded).
    """
    n = (length + chunk_length - 1) // chunk_length
    offset = (n * chunk_length - length) // 2
    return np.arange(n + 1) * chunk_length - offset


def random_state_to_dict(rs: np.random.RandomState) -> dict[str, Any]:
    """A RandomState as plain values (loadable with ``torch.load(weights_only=True)``)."""
    name, keys, pos, has_gauss, cached = rs.get_state(legacy=True)
    return {"name": name, "keys": np.asarray(keys, dtype=np.int64).tolist(), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def random_state_from_dict(d: dict[str, Any]) -> np.random.RandomState:
    rs = np.random.RandomState()
    rs.set_state((d["name"], np.asarray(d["keys"], dtype=np.uint32), int(d["pos"]), int(d["has_gauss"]), float(d["cached_gaussian"])))
    return rs


@dataclass(frozen=True)
class DetectionNoise:
    """2D input corruption for training, in units of the person's 2D height in the frame.

    ``scatter``: standard deviation of a Gaussian offset per joint and frame; one value, or one per
    input joint (limbs err more than the head: on those clips the chain's per-coordinate error,
    outliers beyond 0.2 left out, has std 0.022 for the eyes and 0.04 for wrists and ankles).
    ``scatter_frames``: temporal correlation of that offset, the σ (frames) of a Gaussian kernel
    that smooths white noise along the window, renormalised so each frame's standard deviation
    stays ``scatter``; 0 gives independent frames. A tracked, smoothed 2D chain errs
    coherently: on those validation clips the error's autocorrelation is 0.90 / 0.49 / 0.19 / −0.04
    at lags 1 / 3 / 5 / 8 frames, which σ = 1.8 reproduces (exp(−lag² / 4σ²): 0.93 / 0.50 / 0.15 /
    0.00). A lifter trained on independent scatter learns to average it away over its receptive
    field, which slow errors survive.
    ``outlier_rate``: probability, per chunk and joint, of a run of consecutive window frames in
    which the joint is displaced by one fixed offset of 0.1–0.5 person heights in a random
    direction (a 2D model that puts an ankle on the other leg or off the body for a while).
    ``clamp``: joints outside the frame are first put on its border, where a top-down pose model
    puts joints it cannot see (on those validation clips 78 % of the predictions for joints outside
    the frame lie inside it, 56 % within 10 px of the border; they are 43 % of all errors above 0.2).
    Measured on the synth chain's 2D (centernet + simplebaseline_r18_synth_ft, DARK, tracked; demo-like
    validation clips, seeds 3950–3961): median joint error 0.022 heights, 4.1 % of joints further
    than 0.2 (ankles 14 %, wrists 7–8 %).
    """

    scatter: float | tuple[float, ...] = 0.0
    outlier_rate: float = 0.0
    clamp: bool = False
    scatter_frames: float = 0.0

    @property
    def active(self) -> bool:
        return bool(np.any(np.asarray(self.scatter) > 0)) or self.outlier_rate > 0 or self.clamp

    def _scatter(self, rng: np.random.RandomState, shape: tuple[int, int, int, int]) -> np.ndarray:
        """Unit-variance noise (B, W, J, 2), white or correlated along W (axis 1)."""
        if self.scatter_frames <= 0:
            return rng.standard_normal(shape).astype(np.float32)
        # draw beyond both window ends so the kernel never sees a border, then keep the middle
        reach = int(np.ceil(3 * self.scatter_frames))
        offsets = np.arange(-reach, reach + 1)
        kernel = np.exp(-0.5 * (offsets / self.scatter_frames) ** 2)
        kernel /= np.sqrt((kernel**2).sum())  # a sum of independent unit normals keeps variance 1
        white = rng.standard_normal((shape[0], shape[1] + 2 * reach) + shape[2:])
        out = np.zeros(shape)
        for i, k in enumerate(kernel):
            out += k * white[:, i : i + shape[1]]
        return out.astype(np.float32)

    def apply(self, x2: np.ndarray, rng: np.random.RandomState, aspect: np.ndarray | None = None) -> None:
        """Corrupt ``x2`` (B, W, J, F ≥ 2; normalised screen coordinates) in place. ``aspect``
        (B,): each window's frame height / width (NaN: unknown, not clamped)."""
        b, w, j = x2.shape[:3]
        xy = x2[..., :2]
        if self.clamp and aspect is not None:
            a = np.where(np.isfinite(aspect), aspect, np.inf).astype(np.float32)[:, None, None]
            np.clip(xy[..., 0], -1.0, 1.0, out=xy[..., 0])
            np.clip(xy[..., 1], -a, a, out=xy[..., 1])
        height = (xy[..., 1].max(axis=2) - xy[..., 1].min(axis=2))[:, :, None, None]  # (B, W, 1, 1)
        scatter = np.asarray(self.scatter, dtype=np.float32)
        if scatter.ndim and scatter.shape != (j,):
            raise ValueError(f"{scatter.size} scatter values for {j} joints")
        if np.any(scatter > 0):
            per_joint = scatter.reshape(1, 1, -1, 1) if scatter.ndim else scatter
            xy += self._scatter(rng, (b, w, j, 2)) * (per_joint * height)
        if self.outlier_rate > 0:
            hit = rng.random_sample((b, j)) < self.outlier_rate
            length = rng.randint(1, w + 1, size=(b, j))
            start = (rng.random_sample((b, j)) * (w - length + 1)).astype(np.int64)
            frames = np.arange(w)[None, :, None]
            run = hit[:, None, :] & (frames >= start[:, None, :]) & (frames < (start + length)[:, None, :])  # (B, W, J)
            angle = rng.random_sample((b, j)) * 2 * np.pi
            radius = rng.uniform(0.1, 0.5, size=(b, j))
            offset = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * radius[..., None]  # (B, J, 2)
            xy += (run[..., None] * offset[:, None, :, :] * height).astype(np.float32)


def root_joints(skeleton: str) -> list[int]:
    """Indices whose mean is the 2D root (the pelvis): ``pelvis`` where the layout has one, else
    the two hips."""
    sk = get_skeleton(skeleton)
    if "pelvis" in sk.keypoints:
        return [sk.index("pelvis")]
    try:
        return [sk.index("left_hip"), sk.index("right_hip")]
    except KeyError:
        raise ValueError(f"skeleton {skeleton} has neither a pelvis nor both hips to rescale about") from None


@dataclass(frozen=True)
class DepthRescale:
    """Training chunks seen from another depth (beyond the paper).

    Each chunk draws one factor ``s``, log-uniform in [``low``, ``high``], and its person moves along
    the camera rays to 1/s of its depth: in every frame the 2D offsets from the root's 2D position
    scale by ``s`` (weak perspective about the root, which stays where it is in the frame) and the
    camera-space trajectory target divides by ``s``; the root-relative 3D pose is unchanged. Why:
    trained on people at the depths of its data, the shipped lifter read body size from size in the
    frame (the demo clip's ground-truth 2D shrunk to half gave bones 38 % shorter), which no camera
    geometry supports.
    """

    low: float = 1.0
    high: float = 1.0
    root: tuple[int, ...] = ()  # the 2D joints whose mean is the root (:func:`root_joints`)

    def __post_init__(self) -> None:
        if self.active and not self.root:
            raise ValueError("rescaling the 2D needs the root joints")

    @property
    def active(self) -> bool:
        return self.low != 1.0 or self.high != 1.0

    def apply(self, x2: np.ndarray, x3: np.ndarray | None, rng: np.random.RandomState) -> None:
        """Rescale ``x2`` (B, W, J, F ≥ 2; normalised screen coordinates) and the trajectory in joint
        0 of ``x3`` (B, L, J_out, 3), in place."""
        b = x2.shape[0]
        s = np.exp(rng.uniform(np.log(self.low), np.log(self.high), size=b)).astype(np.float32)
        xy = x2[..., :2]
        centre = xy[:, :, list(self.root)].mean(axis=2, keepdims=True)  # (B, W, 1, 2)
        xy[...] = centre + (xy - centre) * s[:, None, None, None]
        if x3 is not None:
            x3[:, :, 0] /= s[:, None, None]


@dataclass
class Batch:
    """One training batch. ``inputs_2d`` (B, L + 2*pad, J_in, F); ``poses_3d`` (B, L, J_out, 3)
    camera space with the root trajectory in joint 0, or None; ``cameras`` (B, 9) or None."""

    inputs_2d: np.ndarray
    poses_3d: np.ndarray | None
    cameras: np.ndarray | None


class ChunkedBatches:
    """The training generator (official ``ChunkedGenerator``), vectorised.

    Args:
        batch_size: chunks per batch (the recipe's 1024 frames with ``chunk_length = 1``).
        poses_2d: per sequence (T, J_in, F) normalised 2D.
        poses_3d: per sequence (T, J_out, 3) or None (unlabelled data).
        cameras: per sequence (9,) normalised intrinsics or None.
        chunk_length: output frames per chunk (the official ``--stride``).
        pad, causal_shift: input frames per side and causal offset.
        augment: add a mirrored copy of every chunk, using the layouts' left/right slots.
        seed: seed of this generator's RandomState.
        endless: keep cycling (unlabelled data is zipped with the labelled epoch).
        noise: 2D corruption of every chunk's input, none by default (as the paper). Drawn from
            a RandomState of its own per rank (the batch order stays identical across ranks)
            that :meth:`get_state` saves, so resuming stays exact.
        rescale: :class:`DepthRescale` of every chunk (before ``noise``; same RandomState); none
            by default.
        rank, world_size: under DDP each rank takes every ``world_size``-th chunk of each
            global batch, so the global batch and its order equal the single-process run.
    """

    def __init__(
        self,
        batch_size: int,
        poses_2d: Sequence[np.ndarray],
        poses_3d: Sequence[np.ndarray] | None = None,
        cameras: Sequence[np.ndarray] | None = None,
        *,
        chunk_length: int = 1,
        pad: int = 0,
        causal_shift: int = 0,
        shuffle: bool = True,
        seed: int = 1234,
        augment: bool = False,
        kps_left: Sequence[int] = (),
        kps_right: Sequence[int] = (),
        joints_left: Sequence[int] = (),
        joints_right: Sequence[int] = (),
        endless: bool = False,
        rank: int = 0,
        world_size: int = 1,
        noise: DetectionNoise | None = None,
        aspects: Sequence[float | None] | None = None,
        rescale: DepthRescale | None = None,
    ) -> None:
        if poses_3d is not None and len(poses_3d) != len(poses_2d):
            raise ValueError(f"{len(poses_3d)} 3D sequences for {len(poses_2d)} 2D sequences")
        if cameras is not None and len(cameras) != len(poses_2d):
            raise ValueError(f"{len(cameras)} cameras for {len(poses_2d)} 2D sequences")
        if not poses_2d:
            raise ValueError("no training sequences")
        self.batch_size = int(batch_size)
        self.chunk_length = int(chunk_length)
        self.pad, self.causal_shift = int(pad), int(causal_shift)
        self.shuffle, self.augment, self.endless = shuffle, augment, endless
        self.rank, self.world_size = int(rank), int(world_size)
        self.kps_lr = (list(kps_left) + list(kps_right), list(kps_right) + list(kps_left))
        self.joints_lr = (list(joints_left) + list(joints_right), list(joints_right) + list(joints_left))
        self.random = np.random.RandomState(seed)
        self.noise = noise if noise is not None and noise.active else None
        self.rescale = rescale if rescale is not None and rescale.active else None
        self.noise_random = np.random.RandomState([seed, 1 + self.rank])
        self._aspects = (np.array([np.nan if a is None else float(a) for a in aspects], dtype=np.float64)
                         if aspects is not None else None)

        # Pad every sequence once and lay them end to end, so a window is a slice of one array.
        # 2D needs pad +/- causal_shift plus the chunk overhang; 3D only the overhang.
        pairs = []
        flat_2d, flat_3d, offs_2d, offs_3d = [], [], [], []
        o2 = o3 = 0
        for i, seq in enumerate(poses_2d):
            bounds = chunk_bounds(len(seq), self.chunk_length)
            over_l = max(0, -int(bounds[0]))
            over_r = max(0, int(bounds[-1]) - len(seq))
            p2 = pad_edge(np.asarray(seq, dtype=np.float32), self.pad + self.causal_shift + over_l, self.pad - self.causal_shift + over_r)
            flat_2d.append(p2)
            # index into the flat array of sequence frame 0 minus the window's left reach
            offs_2d.append(o2 + over_l)
            o2 += len(p2)
            if poses_3d is not None:
                if len(poses_3d[i]) != len(seq):
                    raise ValueError(f"sequence {i}: {len(poses_3d[i])} 3D frames for {len(seq)} 2D frames")
                p3 = pad_edge(np.asarray(poses_3d[i], dtype=np.float32), over_l, over_r)
                flat_3d.append(p3)
                offs_3d.append(o3 + over_l)
                o3 += len(p3)
            # as the official generator: the sequence's chunks, then their mirrored copies
            pairs += [(i, int(s), False) for s in bounds[:-1]]
            if augment:
                pairs += [(i, int(s), True) for s in bounds[:-1]]
        self.pairs = np.array(pairs, dtype=np.int64).reshape(-1, 3)
        self._flat_2d = np.concatenate(flat_2d)
        self._flat_3d = np.concatenate(flat_3d) if poses_3d is not None else None
        self._offs_2d = np.asarray(offs_2d, dtype=np.int64)
        self._offs_3d = np.asarray(offs_3d, dtype=np.int64) if poses_3d is not None else None
        self._cams = np.stack([np.asarray(c, dtype=np.float32) for c in cameras]) if cameras is not None else None
        self.num_batches = (len(self.pairs) + self.batch_size - 1) // self.batch_size
        self._state: tuple[int, np.ndarray] | None = None  # endless mode: (next batch, order)
        self._state_rng: dict[str, Any] | None = None  # RNG state before that order was drawn

    def num_frames(self) -> int:
        """Output frames per epoch (chunks x chunk length, mirrored copies included)."""
        return len(self.pairs) * self.chunk_length

    # --- exact resume -------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly: RNG and, in endless mode, the position."""
        st: dict[str, Any] = {"random": random_state_to_dict(self.random)}
        if self.noise is not None or self.rescale is not None:
            st["noise_random"] = random_state_to_dict(self.noise_random)
        if self._state is not None:
            st["position"] = int(self._state[0])
            st["order_random"] = self._state_rng
        return st

    def set_state(self, st: dict[str, Any]) -> None:
        if "position" in st and st.get("order_random") is not None:
            self.random = random_state_from_dict(st["order_random"])
            order = self._draw_order()
            self._state = (int(st["position"]), order)
        self.random = random_state_from_dict(st["random"])
        if st.get("noise_random") is not None:
            self.noise_random = random_state_from_dict(st["noise_random"])

    def _draw_order(self) -> np.ndarray:
        self._state_rng = random_state_to_dict(self.random)
        return self.random.permutation(len(self.pairs)) if self.shuffle else np.arange(len(self.pairs))

    # --- batches ------------------------------------------------------------------------
    def _make(self, idx: np.ndarray) -> Batch:
        seq, start, flip = self.pairs[idx, 0], self.pairs[idx, 1], self.pairs[idx, 2].astype(bool)
        win = self.chunk_length + 2 * self.pad
        # flat index of window frame 0: sequence frame `start` minus the left reach
        base2 = self._offs_2d[seq] + start
        x2 = self._flat_2d[base2[:, None] + np.arange(win)[None, :]]
        if flip.any():
            f2 = x2[flip]
            f2[..., 0] *= -1
            f2[:, :, self.kps_lr[0]] = f2[:, :, self.kps_lr[1]]
            x2[flip] = f2
        x3 = None
        if self._flat_3d is not None:
            base3 = self._offs_3d[seq] + start
            x3 = self._flat_3d[base3[:, None] + np.arange(self.chunk_length)[None, :]]
            if flip.any():
                f3 = x3[flip]
                f3[..., 0] *= -1
                f3[:, :, self.joints_lr[0]] = f3[:, :, self.joints_lr[1]]
                x3[flip] = f3
        if self.rescale is not None:
            self.rescale.apply(x2, x3, self.noise_random)
        if self.noise is not None:
            self.noise.apply(x2, self.noise_random, self._aspects[seq] if self._aspects is not None else None)
        cams = None
        if self._cams is not None:
            cams = self._cams[seq].copy()
            if flip.any():
                cams[flip] = flip_camera(cams[flip])
        return Batch(x2, x3, cams)

    def epoch(self) -> Iterator[Batch]:
        """One pass (or, when ``endless``, an endless cycle) of batches for this rank."""
        while True:
            if self._state is None:
                start, order = 0, self._draw_order()
            else:
                start, order = self._state
            for b in range(start, self.num_batches):
                idx = order[b * self.batch_size : (b + 1) * self.batch_size]
                idx = idx[self.rank :: self.world_size]
                if self.endless:
                    self._state = (b + 1, order)
                yield self._make(idx)
            if not self.endless:
                return
            self._state = None
