"""An appearance embedding from the correspondence network's backbone (``track --reid features``).

The correspondence model (``correspond_r18_synth`` by default) turns a person window into
32-channel features at ¼ resolution, trained so that the same body point matches across frames.
Read at the person's keypoints and averaged per body region (torso: shoulders and hips; upper
legs: hips and knees; lower legs: knees and ankles; arms: elbows and wrists), then L2-normalised,
they form an embedding with the same layout as the colour descriptor of :mod:`appearance` (per
region a unit vector and a seen flag), so :func:`~posetool.track.appearance.appearance_distance`
(mean √(1 − max(0, cos)) over shared regions) and the tracker's running mean apply unchanged.
Keypoints below the confidence threshold, outside the image or inside the box of someone in
front do not count; a region without any counted keypoint is unseen.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from posetool.pose2d.crop import affine_points
from posetool.track.appearance import REGIONS

# COCO-17 keypoints averaged into each region, in REGIONS order.
_REGION_KEYPOINTS = ((5, 6, 11, 12), (11, 12, 13, 14), (13, 14, 15, 16), (7, 8, 9, 10))


class FeatureEmbedder:
    """Embeddings from a loaded correspondence model (:func:`posetool.hub.loader.load_model`, task correspond)."""

    def __init__(self, loaded: object) -> None:
        from posetool.correspond.infer import CorrespondenceEstimator

        self.est = CorrespondenceEstimator.from_loaded(loaded)
        self.channels = int(self.est.module.feat_channels)
        self.dim = len(REGIONS) * (self.channels + 1)

    @torch.inference_mode()
    def describe(self, image: np.ndarray, kps: np.ndarray | None, box: np.ndarray | None, kp_thr: float = 0.2,
                 hidden: list[np.ndarray] | None = None) -> np.ndarray:
        """(len(REGIONS) · (C + 1),) embedding of one person (image BGR (H, W, 3), keypoints (17, 3))."""
        out = np.zeros(self.dim)
        if kps is None or len(kps) != 17:
            return out
        h, w = image.shape[:2]
        ok = np.isfinite(kps[:, :2]).all(axis=1) & (np.nan_to_num(kps[:, 2], nan=0.0) > kp_thr)
        ok &= (kps[:, 0] >= 0) & (kps[:, 0] < w) & (kps[:, 1] >= 0) & (kps[:, 1] < h)
        for b in hidden or []:
            ok &= ~((kps[:, 0] >= b[0]) & (kps[:, 0] <= b[2]) & (kps[:, 1] >= b[1]) & (kps[:, 1] <= b[3]))
        if not ok.any():
            return out
        s = self.est.input_size
        m = self.est.window(np.where(ok[:, None], kps, np.nan), box)
        crop = cv2.warpAffine(image, m, (s, s), flags=cv2.INTER_LINEAR)
        feats = self.est.module.features(self.est.to_input(crop[None]))[0].float().cpu().numpy()  # (C, s/4, s/4)
        cells = affine_points(np.nan_to_num(kps[:, :2]), m) / self.est.stride
        fh, fw = feats.shape[1:]
        xi = np.clip(np.round(cells[:, 0]).astype(int), 0, fw - 1)
        yi = np.clip(np.round(cells[:, 1]).astype(int), 0, fh - 1)
        at = feats[:, yi, xi].T  # (17, C): the feature under each keypoint
        for r, idx in enumerate(_REGION_KEYPOINTS):
            use = [k for k in idx if ok[k]]
            if not use:
                continue
            v = at[use].mean(axis=0)
            norm = float(np.linalg.norm(v))
            if norm < 1e-9:
                continue
            base = r * (self.channels + 1)
            out[base:base + self.channels] = v / norm
            out[base + self.channels] = 1.0
        return out
