"""CenterNet targets, loss and decoding, and the ``centernet`` detection backend.

Targets follow the official code (xingyizhou/CenterNet ``datasets/sample/ctdet.py``): for each box,
its centre ``c`` in output pixels, the integer peak ``floor(c)``, a Gaussian splat whose radius comes
from ``gaussian_radius`` (minimum overlap 0.7), the size target ``(w, h)`` and the offset target
``c − floor(c)``. The loss is the penalty-reduced focal loss (α = 2, β = 4) on the heatmap plus L1
on size (weight 0.1) and offset (weight 1) at the peaks. Decoding keeps 3×3 local maxima of the
sigmoid heatmap, takes the top K, and rebuilds boxes from the peak, offset and size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from posetool.detect.boxes import Detections
from posetool.hub.loader import LoadedModel
from posetool.hub.registry import InputSpec
from posetool.nn.centernet import OUTPUT_STRIDE
from posetool.preprocess import letterbox_matrix, to_input


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """Radius of the centre disk inside which a shifted box still has IoU ≥ ``min_overlap``.

    The three cases of CornerNet/CenterNet's ``gaussian_radius`` (both corners inside, both
    outside, one in one out); the smallest radius wins.
    """
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heatmap: np.ndarray, center: tuple[int, int], radius: int) -> None:
    """Splat a Gaussian (σ = diameter / 6) at integer ``center`` (x, y) into ``heatmap`` by max."""
    diameter = 2 * radius + 1
    sigma = diameter / 6
    ys, xs = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    x, y = center
    h, w = heatmap.shape
    left, right = min(x, radius), min(w - x, radius + 1)
    top, bottom = min(y, radius), min(h - y, radius + 1)
    if left + right <= 0 or top + bottom <= 0:
        return
    region = heatmap[y - top:y + bottom, x - left:x + right]
    np.maximum(region, g[radius - top:radius + bottom, radius - left:radius + right], out=region)


def build_targets(boxes: np.ndarray, out_w: int, out_h: int, max_objs: int = 64) -> dict[str, np.ndarray]:
    """Training targets for boxes already in output-map pixels.

    Args:
        boxes: (N, 4) ``[x1, y1, x2, y2]`` in output pixels (input pixels / 4).

    Returns:
        ``hm`` (1, H, W), ``wh`` (max_objs, 2), ``reg`` (max_objs, 2), ``ind`` (max_objs,) flat
        peak indices, ``mask`` (max_objs,) 1 for real objects.
    """
    hm = np.zeros((1, out_h, out_w), np.float32)
    wh = np.zeros((max_objs, 2), np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    ind = np.zeros(max_objs, np.int64)
    mask = np.zeros(max_objs, np.float32)
    k = 0
    for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        x1, x2 = np.clip([x1, x2], 0, out_w - 1)
        y1, y2 = np.clip([y1, y2], 0, out_h - 1)
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0 or k >= max_objs:
            continue
        c = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        ci = np.floor(c).astype(int)
        radius = max(0, int(gaussian_radius(math.ceil(h), math.ceil(w))))
        draw_gaussian(hm[0], (ci[0], ci[1]), radius)
        wh[k] = (w, h)
        ind[k] = ci[1] * out_w + ci[0]
        reg[k] = c - ci
        mask[k] = 1
        k += 1
    return {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "mask": mask}


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Penalty-reduced pixel-wise focal loss (α = 2, β = 4), normalised by the number of peaks.

    logits, target: (N, C, H, W); target is 1 at object centres, Gaussian-decayed around them.
    """
    pred = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg_weight = torch.pow(1 - target, 4)
    pos_loss = torch.log(pred) * torch.pow(1 - pred, 2) * pos
    neg_loss = torch.log(1 - pred) * torch.pow(pred, 2) * neg_weight * (1 - pos)
    num_pos = pos.sum()
    return -(pos_loss.sum() + neg_loss.sum()) / num_pos.clamp(min=1.0)


def _gather(feat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) features at flat indices (N, K) → (N, K, C)."""
    n, c = feat.shape[:2]
    flat = feat.view(n, c, -1).permute(0, 2, 1)
    return flat.gather(1, ind.unsqueeze(2).expand(-1, -1, c))


def centernet_loss(out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                   wh_weight: float = 0.1, off_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts (hm, wh, off) for a batch of outputs and stacked targets."""
    hm = focal_loss(out["hm"], targets["hm"])
    mask = targets["mask"].unsqueeze(2)
    denom = mask.sum() * 2 + 1e-4
    wh = (F.l1_loss(_gather(out["wh"], targets["ind"]) * mask, targets["wh"] * mask, reduction="sum")) / denom
    off = (F.l1_loss(_gather(out["reg"], targets["ind"]) * mask, targets["reg"] * mask, reduction="sum")) / denom
    total = hm + wh_weight * wh + off_weight * off
    return total, {"hm": float(hm.detach()), "wh": float(wh.detach()), "off": float(off.detach())}


def decode(out: dict[str, torch.Tensor], k: int = 100, probabilities: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes from CenterNet outputs (``probabilities``: ``out["hm"]`` is already through the sigmoid).

    Returns:
        boxes (N, K, 4) ``[x1, y1, x2, y2]`` in output-map pixels, scores (N, K) sorted descending.
    """
    heat = out["hm"] if probabilities else torch.sigmoid(out["hm"])
    n, c, h, w = heat.shape
    peaks = F.max_pool2d(heat, 3, stride=1, padding=1)
    heat = heat * (peaks == heat).float()
    k = min(k, c * h * w)
    scores, idx = heat.view(n, -1).topk(k)
    spatial = idx % (h * w)
    ys = (spatial // w).float()
    xs = (spatial % w).float()
    reg = _gather(out["reg"], spatial)
    wh = _gather(out["wh"], spatial)
    cx, cy = xs + reg[..., 0], ys + reg[..., 1]
    boxes = torch.stack([cx - wh[..., 0] / 2, cy - wh[..., 1] / 2, cx + wh[..., 0] / 2, cy + wh[..., 1] / 2], dim=-1)
    return boxes, scores


def flip_averaged(out: dict[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    """The official CenterNet flip test (``--flip_test`` of ``CtdetDetector.process``) on the outputs of a
    batch whose second half ``[n:]`` is the first half mirrored: centre heatmaps (after the sigmoid) and
    sizes averaged with their mirrored twins flipped back, sub-cell offsets from the unmirrored half."""
    return {"hm": (torch.sigmoid(out["hm"][:n]) + torch.sigmoid(out["hm"][n:]).flip(3)) / 2,
            "wh": (out["wh"][:n] + out["wh"][n:].flip(3)) / 2, "reg": out["reg"][:n]}


class CenterNetDetector:
    """The ``centernet`` backend: letterbox → network → decode → boxes in image pixels.

    Args:
        module: a :func:`posetool.nn.centernet.centernet` network (``hm``, ``wh``, ``reg`` heads).
        input_spec: the network input size, mean/std and channel order.
        device: where ``module`` lives.
        name, weights_sha256: the model's name and weights, recorded by the detect stage.
        flip_test: also run each frame mirrored and average (:func:`flip_averaged`; twice the network work).
    """

    default_score_thr = 0.3

    def __init__(self, module: torch.nn.Module, input_spec: InputSpec, device: Any = "cpu", batch_size: int = 8,
                 top_k: int = 100, name: str = "centernet", weights_sha256: str | None = None,
                 flip_test: bool = False) -> None:
        self.module = module
        self.flip_test = bool(flip_test)
        self.params = {"flip_test": self.flip_test}  # recorded in the detect stage's provenance
        self.device = device
        self.name = name
        self.weights_sha256 = weights_sha256
        self.spec = input_spec
        self.top_k = top_k
        self.batch_size = batch_size

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 8, top_k: int = 100,
                    flip_test: bool = False) -> CenterNetDetector:
        """The backend :func:`posetool.detect.backends.build_detector` builds (the spec's runner)."""
        if loaded.spec.input is None:
            raise ValueError(f"model {loaded.spec.name} has no input spec")
        return cls(loaded.module, loaded.spec.input, loaded.device, batch_size, top_k, loaded.spec.name,
                   loaded.weights_sha256, flip_test)

    def letterbox(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BGR (H, W, 3) uint8 → letterboxed BGR uint8 (in_h, in_w, 3) and the 2×3 letterbox matrix."""
        import cv2

        spec = self.spec
        m = letterbox_matrix(image.shape[1], image.shape[0], spec.width, spec.height)
        return cv2.warpAffine(image, m, (spec.width, spec.height), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)), m

    @torch.no_grad()
    def detect(self, frames) -> list[Detections]:
        """Detections per frame (list of :class:`posetool.video.sources.Frame`)."""
        results: list[Detections] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = frames[start:start + self.batch_size]
            boxed = [self.letterbox(f.image) for f in chunk]
            # one conversion of the stacked pixels, on the CPU as it always was here, then to the device;
            # the batch keeps the pixels' channels-last layout, which the convolutions' last bits depend on
            x = to_input(np.stack([b[0] for b in boxed]), self.spec).to(self.device)
            if self.flip_test:
                out = flip_averaged(self.module(torch.cat([x, x.flip(3)])), len(chunk))
                boxes, scores = decode(out, self.top_k, probabilities=True)
            else:
                boxes, scores = decode(self.module(x), self.top_k)
            for (_, m), b, s in zip(boxed, boxes.cpu().numpy(), scores.cpu().numpy()):
                b = b.astype(np.float64) * OUTPUT_STRIDE  # input pixels
                inv_s, tx, ty = 1.0 / m[0, 0], m[0, 2], m[1, 2]
                b[:, [0, 2]] = (b[:, [0, 2]] - tx) * inv_s
                b[:, [1, 3]] = (b[:, [1, 3]] - ty) * inv_s
                results.append(Detections(b, s.astype(np.float64)))
        return results
