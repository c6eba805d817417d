"""Keypoint correspondences between two frames with a trained :class:`CorrespondenceNet`.

For every query person of frame t−1 (its K keypoints in image pixels) the network gives K refined
maps over frame t (sigmoid of the refinement's logits). The correspondence of keypoint k is the
arg-max of map k refined below one cell (one cell is 4 input pixels), mapped back to frame-t pixels;
its *affinity* is the map's maximum. Each map can also be read at the keypoints of the people already
in frame t (``at_instances``, what ``track --similarity corr`` uses).

Two things set the precision below a cell (``decode``, ``query_offset``; docs/correspond.md,
"Decoding below a cell"):

- the sub-cell peak: ``dark`` (the default; DARK's Taylor step on the log of the blurred map, as the
  synth pose models decode) or ``centroid`` (the centre of mass of the peak's 3×3 neighbourhood);
- the query's own offset: the network correlates the 3×3 feature patch of the query's *nearest
  cell*, so its map says where that cell's centre went. With ``query_offset`` (the default) the
  query's offset from that centre (up to half a cell each way) is added back, as the local motion
  carries both alike; without it every correspondence inherits the query's rounding.

The image region given to the network (``region``):

- ``"person"`` (default): a square window around each query person (its box, else its keypoints'
  extent; side = ``context`` × the longer side), the *same* window cut from both frames. This is
  the scale the shipped model is trained at (:class:`posetool.correspond.pairs.PairConfig`), and its
  cost grows with the number of people (two backbone passes per person, batched).
- ``"frame"``: the whole frame letterboxed to a square (the authors' code: 512×512), features
  computed once per frame and reused for the next pair; one refinement pass per person. People
  are smaller in the input, so use a model trained with a matching ``--context``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from posetool.correspond.common import REGIONS, Correspondence, check_region  # noqa: F401 (re-exported)
from posetool.correspond.pairs import cell_offsets, person_window, window_matrix
from posetool.pose2d.crop import affine_points
from posetool.pose2d.heatmaps import dark_refine, local_mean
from posetool.preprocess import letterbox_matrix, normalize

MAPS = ("refined", "affinity")
DECODES = ("dark", "centroid")
# DARK's blur for the correspondence maps (targets σ = 1.5 cells), chosen on real video that trained the
# real model (vtest.avi frames 300-449), not on the held-out clip: docs/correspond.md.
DEFAULT_BLUR_KERNEL = 11


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine map."""
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


class CorrespondenceEstimator:
    """Batched correspondence inference.

    Args:
        module: a :class:`posetool.nn.correspondence.CorrespondenceNet` (put in eval mode here).
        input_size: side of the square network input for ``person`` windows (the model's InputSpec).
        region: ``person`` or ``frame`` (see module docstring).
        frame_size: letterbox side for ``frame`` (multiple of 32).
        context: person-window side / the person's longer side.
        batch_size: people per network batch.
        maps: ``refined`` (sigmoid of the refinement, what ``correspond`` writes) or ``affinity``
            (the Siamese stage's softmax maps alone, for ablations).
        decode: the sub-cell peak, ``dark`` or ``centroid`` (see the module docstring).
        blur_kernel: DARK's blur kernel (odd).
        query_offset: add each query's offset from its feature cell's centre to its correspondence.
    """

    def __init__(self, module: torch.nn.Module, input_size: int, mean: Sequence[float], std: Sequence[float],
                 channel_order: str = "RGB", device: str | torch.device = "cpu", region: str = "person",
                 frame_size: int = 512, context: float = 2.0, batch_size: int = 16, maps: str = "refined",
                 decode: str = "dark", blur_kernel: int = DEFAULT_BLUR_KERNEL, query_offset: bool = True) -> None:
        if maps not in MAPS:
            raise ValueError(f"maps must be one of {MAPS}, got {maps!r}")
        if decode not in DECODES:
            raise ValueError(f"decode must be one of {DECODES}, got {decode!r}")
        if blur_kernel < 1 or blur_kernel % 2 == 0:
            raise ValueError(f"blur kernel must be a positive odd number, got {blur_kernel}")
        check_region(region, frame_size)
        if input_size % 32:
            raise ValueError(f"input size must be a multiple of 32, got {input_size}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.module = module.eval()
        self.device = torch.device(device)
        self.input_size = int(input_size)
        self.region = region
        self.frame_size = int(frame_size)
        self.context = float(context)
        self.batch_size = int(batch_size)
        self.maps = maps
        self.decoding = decode
        self.blur_kernel = int(blur_kernel)
        self.query_offset = bool(query_offset)
        self.stride = int(getattr(module, "stride", 4))
        self._rgb = channel_order.upper() == "RGB"
        self._mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._cache: tuple[int, torch.Tensor] | None = None  # (id of the frame, its letterboxed features)

    @classmethod
    def from_loaded(cls, loaded: object, input_size: int | None = None, **kwargs: object) -> CorrespondenceEstimator:
        """The estimator of a loaded model; ``input_size`` None: its spec's input side (the weights fit any
        multiple of 32)."""
        spec = loaded.spec  # type: ignore[attr-defined]
        return cls(loaded.module, input_size or spec.input.width, spec.input.mean, spec.input.std,  # type: ignore[attr-defined]
                   spec.input.channel_order, loaded.device, **kwargs)  # type: ignore[attr-defined,arg-type]

    # --- helpers -------------------------------------------------------------------------------
    def to_input(self, crops: np.ndarray) -> torch.Tensor:
        """uint8 BGR (N, S, S, 3) → normalised (N, 3, S, S) on the device."""
        return normalize(crops, self._mean, self._std, "RGB" if self._rgb else "BGR", self.device)

    def window(self, keypoints: np.ndarray, bbox: np.ndarray | None) -> np.ndarray:
        """2×3 map image → person-window input for a query person."""
        kp = np.asarray(keypoints, dtype=np.float64).copy()
        ok = np.isfinite(kp).all(1)
        joints = np.zeros_like(kp)
        joints[ok] = kp[ok]
        joints[:, 2] = ok.astype(np.float64)
        box = None
        if bbox is not None:
            b = np.asarray(bbox, dtype=np.float64)
            box = np.array([b[0], b[1], b[2] - b[0], b[3] - b[1]])
        center, side = person_window(joints, box)
        return window_matrix(center, side * self.context, self.input_size)

    def cell_offsets(self, queries: np.ndarray) -> np.ndarray:
        """(P, K, 2) query points in input pixels → their offsets from the centre of the feature cell the
        network correlates (:func:`posetool.nn.correspondence.correlate` takes the nearest), in input pixels."""
        return cell_offsets(queries, self.stride)

    def decode(self, maps: np.ndarray, inv: list[np.ndarray], offsets: np.ndarray | None = None) -> np.ndarray:
        """(P, K, h, w) probability maps and per-person input→image maps → (P, K, 3) x, y, affinity.

        ``offsets`` (P, K, 2): each query's :meth:`cell_offsets`, added in input pixels (None: not added).
        """
        p, k, _, w = maps.shape
        flat = maps.reshape(p, k, -1)
        idx = flat.argmax(-1)
        peak = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
        coords = np.stack([idx % w, idx // w], -1).astype(np.float64)
        if self.decoding == "dark":
            coords = dark_refine(maps, coords, self.blur_kernel)
        else:  # centroid: on held-out synth pairs 97 % within 0.5 head sizes against 93 % for the integer arg-max
            coords = local_mean(maps, coords)
        coords = coords * self.stride  # heatmap cell i ↔ input pixel stride·i (target encoding)
        if offsets is not None:
            coords = coords + offsets
        out = np.empty((p, k, 3))
        for i in range(p):
            out[i, :, :2] = affine_points(coords[i], inv[i])
        out[..., 2] = peak
        return out

    def read_at(self, maps: np.ndarray, fwd: list[np.ndarray], people: np.ndarray) -> np.ndarray:
        """Map values of (P, K, h, w) at the keypoints (M, K, 3) of frame t's people → (P, M, K)."""
        p, k, h, w = maps.shape
        m = len(people)
        out = np.full((p, m, k), np.nan)
        if m == 0:
            return out
        ok = np.isfinite(people[..., :2]).all(-1)
        for i in range(p):
            xy = affine_points(np.nan_to_num(people[..., :2]), fwd[i]) / self.stride
            ix = np.floor(xy[..., 0] + 0.5).astype(np.int64)
            iy = np.floor(xy[..., 1] + 0.5).astype(np.int64)
            inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
            kk = np.broadcast_to(np.arange(k), (m, k))
            vals = maps[i][kk, iy.clip(0, h - 1), ix.clip(0, w - 1)]
            out[i] = np.where(ok, np.where(inside, vals, 0.0), np.nan)
        return out

    # --- entry point -----------------------------------------------------------------------------
    @torch.inference_mode()
    def correspond(self, image_a: np.ndarray, image_b: np.ndarray, queries: list[np.ndarray],
                   boxes: list[np.ndarray | None] | None = None, people: np.ndarray | None = None,
                   frame_ids: tuple[int, int] | None = None) -> list[Correspondence]:
        """Correspondences of each query person of ``image_a`` (frame t−1) in ``image_b`` (frame t).

        Args:
            image_a, image_b: BGR frames (H, W, 3).
            queries: per person (K, 3) x, y, confidence in image pixels (NaN rows: keypoint absent).
            boxes: per person its ``[x1, y1, x2, y2]`` box or None (person windows use it).
            people: (M, K, 3) keypoints of frame t's people for ``at_instances`` (NaN: absent).
            frame_ids: (id of image_a, id of image_b) lets ``frame`` mode reuse image_a's features
                from the previous call (the previous image_b).
        """
        people = np.zeros((0, 0, 3)) if people is None else np.asarray(people, dtype=np.float64)
        boxes = boxes if boxes is not None else [None] * len(queries)
        results: list[Correspondence] = []
        for start in range(0, len(queries), self.batch_size):
            q = [np.asarray(x, dtype=np.float64) for x in queries[start:start + self.batch_size]]
            b = boxes[start:start + self.batch_size]
            if self.region == "person":
                maps, fwd = self._person_maps(image_a, image_b, q, b)
            else:
                maps, fwd = self._frame_maps(image_a, image_b, q, frame_ids)
            inv = [invert(m) for m in fwd]
            offsets = None
            if self.query_offset:
                offsets = self.cell_offsets(np.stack([affine_points(np.nan_to_num(x[:, :2]), m) for x, m in zip(q, fwd)]))
            kps = self.decode(maps, inv, offsets)
            k = maps.shape[1]
            at = self.read_at(maps, fwd, people) if people.size else np.zeros((len(q), 0, k))
            for i, qi in enumerate(q):
                missing = ~np.isfinite(qi[:, :2]).all(1)
                kps[i][missing] = np.nan
                at[i][:, missing] = np.nan
                results.append(Correspondence(kps[i], at[i]))
        return results

    def _run(self, fa: torch.Tensor, fb: torch.Tensor, queries: torch.Tensor, valid: torch.Tensor) -> np.ndarray:
        aff = self.module.affinity(fa, fb, queries, valid)
        if self.maps == "affinity":
            return aff.float().cpu().numpy()
        return torch.sigmoid(self.module.refine(fa, fb, aff)).float().cpu().numpy()

    def _person_maps(self, image_a: np.ndarray, image_b: np.ndarray, queries: list[np.ndarray],
                     boxes: Sequence[np.ndarray | None]) -> tuple[np.ndarray, list[np.ndarray]]:
        s = self.input_size
        fwd = [self.window(q, bx) for q, bx in zip(queries, boxes)]
        crops = np.stack([cv2.warpAffine(img, m, (s, s), flags=cv2.INTER_LINEAR)
                          for img in (image_a, image_b) for m in fwd])
        feats = self.module.features(self.to_input(crops))
        n = len(queries)
        qs = np.stack([affine_points(np.nan_to_num(q[:, :2], nan=-1e6), m) for q, m in zip(queries, fwd)])
        valid = np.stack([np.isfinite(q[:, :2]).all(1) for q in queries])
        maps = self._run(feats[:n], feats[n:], torch.from_numpy(qs).float().to(self.device),
                         torch.from_numpy(valid).to(self.device))
        return maps, fwd

    def _frame_features(self, image: np.ndarray, m: np.ndarray, ident: int | None) -> torch.Tensor:
        if ident is not None and self._cache is not None and self._cache[0] == ident:
            return self._cache[1]
        s = self.frame_size
        f = self.module.features(self.to_input(cv2.warpAffine(image, m, (s, s), flags=cv2.INTER_LINEAR)[None]))
        if ident is not None:
            self._cache = (ident, f)
        return f

    def _frame_maps(self, image_a: np.ndarray, image_b: np.ndarray, queries: list[np.ndarray],
                    frame_ids: tuple[int, int] | None) -> tuple[np.ndarray, list[np.ndarray]]:
        h, w = image_a.shape[:2]
        m = letterbox_matrix(w, h, self.frame_size, self.frame_size)
        ida, idb = frame_ids if frame_ids is not None else (None, None)
        fa = self._frame_features(image_a, m, ida)
        fb = self._frame_features(image_b, m, idb)
        n, k = len(queries), len(queries[0])
        qs = np.stack([affine_points(np.nan_to_num(q[:, :2], nan=-1e6), m) for q in queries]).reshape(1, n * k, 2)
        valid = np.stack([np.isfinite(q[:, :2]).all(1) for q in queries]).reshape(1, n * k)
        # one correlation over all people's queries, then a refinement pass per person
        aff = self.module.affinity(fa, fb, torch.from_numpy(qs).float().to(self.device),
                                   torch.from_numpy(valid).to(self.device)).view(n, k, *fa.shape[-2:])
        if self.maps == "affinity":
            return aff.float().cpu().numpy(), [m] * n
        logits = self.module.refine(fa.expand(n, -1, -1, -1), fb.expand(n, -1, -1, -1), aff)
        return torch.sigmoid(logits).float().cpu().numpy(), [m] * n
