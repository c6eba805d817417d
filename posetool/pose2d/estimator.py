"""The batched top-down estimator: boxes in an image → keypoints, as the official test path does it.

For each box: centre/scale (input aspect ratio, ×1.25, pixel_std 200) → affine crop → network
(optionally with the flip test and its one-pixel shift) → decoding (argmax + quarter offset, or
DARK) → back-projection to image pixels. Per image: rescoring (box score × mean keypoint
confidence above 0.2) and OKS-NMS (threshold 0.9) over the padded box areas.

:class:`TopDownEstimator` is used by ``posetool pose2d`` and by any later stage that needs poses
for boxes (e.g. ``recover``). :meth:`TopDownEstimator.estimate_many` batches crops across people
and frames while holding at most about ``batch_size`` crops and frames at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from posetool.errors import OptionError
from posetool.hub.registry import IMAGENET_MEAN, IMAGENET_STD, InputSpec
from posetool.pose2d.crop import box_to_center_scale, crop_image, heatmap_to_image
from posetool.pose2d.flip import flip_permutation, flip_test
from posetool.pose2d.heatmaps import decode_heatmaps, label_doubt
from posetool.pose2d.oks import keypoint_score, oks_nms, soft_oks_nms
from posetool.preprocess import normalize
from posetool.skeletons import Skeleton


DECODERS = ("argmax", "dark", "plain")  # heatmap decoding methods (decode_heatmaps)


@dataclass(frozen=True)
class TopDownOptions:
    """Test-time options with the official COCO defaults (``TEST.*`` in the HRNet yamls).

    Attributes:
        flip_test: average with the mirrored crop's heatmaps (``FLIP_TEST``).
        shift_heatmap: shift the flipped heatmaps one pixel right (``SHIFT_HEATMAP``).
        decode: ``argmax`` (argmax + quarter offset, ``POST_PROCESS``), ``dark``, or ``plain``; ``None``:
            the model's measured decoding (its spec's ``defaults``: ``dark`` for the shipped synth
            models) when built with :meth:`TopDownEstimator.from_loaded`, else ``argmax``.
        blur_kernel: DARK blur kernel; ``None`` picks 11 for σ=2 heatmaps (≤ 64×48-ish) and 17
            for the 96×72 heatmaps of 384×288 models, as the DARK configs do.
        box_padding: box enlargement before cropping.
        in_vis_thre: confidence above which a keypoint counts in the rescoring (``IN_VIS_THRE``).
        rescore: multiply the box score by the mean confident keypoint score.
        oks_thre: OKS-NMS threshold (``OKS_THRE``); 1.0 or more disables NMS.
        soft_nms: Gaussian soft OKS-NMS instead of greedy (``SOFT_NMS``).
        min_box_score: boxes scoring below it are not estimated (``IMAGE_THRE``).
    """

    flip_test: bool = True
    shift_heatmap: bool = True
    decode: str | None = None
    blur_kernel: int | None = None
    box_padding: float = 1.25
    in_vis_thre: float = 0.2
    rescore: bool = True
    oks_thre: float = 0.9
    soft_nms: bool = False
    min_box_score: float = 0.0

    def __post_init__(self) -> None:
        # Checked once, when the options are built (the CLI builds them before reading any input).
        if self.decode is not None and self.decode not in DECODERS:
            raise OptionError("decode", f"must be argmax, dark or plain, got {self.decode!r}")

    def as_params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PoseResult:
    """Poses for one image.

    ``keypoints`` (N, K, 3) x, y, confidence in image pixels for the N estimated boxes (in input
    order); ``scores`` (N,) final instance scores; ``box_scores`` (N,); ``areas`` (N,) padded box
    areas (pixel²); ``indices`` (N,) positions of these boxes in the input; ``keep`` indices into
    the N poses that survive OKS-NMS, best first; ``label_doubt`` (N, P) per left/right pair of the
    skeleton, the heatmaps' support for its labels the other way round
    (:func:`~posetool.pose2d.heatmaps.label_doubt`; None where the model gives no heatmaps).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    box_scores: np.ndarray
    areas: np.ndarray
    indices: np.ndarray
    keep: list[int] = field(default_factory=list)
    label_doubt: np.ndarray | None = None


@dataclass
class _Pending:
    payload: Any
    crops: np.ndarray  # (n, H, W, 3) uint8 BGR
    centers: np.ndarray
    scales: np.ndarray
    box_scores: np.ndarray
    indices: np.ndarray


class TopDownEstimator:
    """Runs a heatmap pose network on boxes.

    Args:
        module: ``nn.Module`` mapping (N, 3, H, W) → (N, K, H/4, W/4); put in eval mode here.
        input_spec: network input size, mean/std and channel order.
        skeleton: keypoint layout of the heatmaps (flip pairs for the flip test).
        device: where the module lives.
    """

    def __init__(self, module: torch.nn.Module, input_spec: InputSpec, skeleton: Skeleton, device: Any = "cpu",
                 options: TopDownOptions | None = None, batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.module = module.eval()
        self.spec = input_spec
        self.skeleton = skeleton
        self.device = torch.device(device)
        self.options = options or TopDownOptions()  # valid: TopDownOptions checks itself when built
        if self.options.decode is None:  # no model to ask: the official decoding
            self.options = replace(self.options, decode="argmax")
        self.batch_size = int(batch_size)
        self.input_size = (int(input_spec.width), int(input_spec.height))
        self.perm = flip_permutation(skeleton.num_keypoints, skeleton.flip_pairs)
        order = input_spec.channel_order.upper()
        if order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be RGB or BGR, got {input_spec.channel_order!r}")
        self._rgb = order == "RGB"
        self._mean = torch.tensor(input_spec.mean or IMAGENET_MEAN, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(input_spec.std or IMAGENET_STD, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)

    @classmethod
    def from_loaded(cls, loaded: Any, options: TopDownOptions | None = None, batch_size: int = 16) -> "TopDownEstimator":
        """Build from a :class:`posetool.hub.loader.LoadedModel` (its spec gives input and skeleton)."""
        from posetool.skeletons import get_skeleton

        spec = loaded.spec
        if spec.input is None:
            raise ValueError(f"model {spec.name} has no input spec")
        options = options or TopDownOptions()
        if options.decode is None:  # the decoding measured for this model (official models: argmax)
            options = replace(options, decode=spec.defaults.get("decode", "argmax"),
                              blur_kernel=options.blur_kernel or spec.defaults.get("blur_kernel"))
        return cls(loaded.module, spec.input, get_skeleton(spec.skeleton or "coco17"), loaded.device, options, batch_size)

    # --- stages of the pipeline -------------------------------------------------------------

    def centers_scales(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) xyxy boxes → centres (N, 2), scales (N, 2) for this network's aspect ratio."""
        w, h = self.input_size
        return box_to_center_scale(boxes, w / h, padding=self.options.box_padding)

    def crops(self, image: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """BGR image (H, W, 3) → uint8 BGR crops (N, h, w, 3)."""
        w, h = self.input_size
        out = np.empty((len(centers), h, w, 3), dtype=np.uint8)
        for i in range(len(centers)):
            out[i] = crop_image(image, centers[i], scales[i], self.input_size)
        return out

    def to_input(self, crops: np.ndarray) -> torch.Tensor:
        """uint8 BGR crops (N, h, w, 3) → normalised float input (N, 3, h, w) on the device."""
        return normalize(crops, self._mean, self._std, self.spec.channel_order, self.device)

    @torch.inference_mode()
    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """uint8 BGR crops (N, h, w, 3) → (N, K, h/4, w/4) float32 heatmaps, in chunks of ``batch_size``."""
        outs = []
        for start in range(0, len(crops), self.batch_size):
            x = self.to_input(crops[start:start + self.batch_size])
            if self.options.flip_test:
                hm = flip_test(self.module, x, self.perm, shift=self.options.shift_heatmap)
            else:
                hm = self.module(x)
            outs.append(hm.float().cpu().numpy())
        if not outs:
            return np.zeros((0, self.skeleton.num_keypoints, self.input_size[1] // 4, self.input_size[0] // 4),
                            dtype=np.float32)
        return np.concatenate(outs, axis=0)

    def decode(self, heatmaps: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Heatmaps (N, K, h, w) → keypoints (N, K, 3) x, y (image pixels), confidence."""
        n, k, hh, ww = heatmaps.shape
        if n == 0:
            return np.zeros((0, k, 3))
        kernel = self.options.blur_kernel or (17 if ww >= 72 else 11)
        coords, maxvals = decode_heatmaps(heatmaps, self.options.decode, kernel)
        xy = heatmap_to_image(coords, centers, scales, (ww, hh))
        return np.concatenate([xy, maxvals[..., None]], axis=-1)

    def finish(self, keypoints: np.ndarray, scales: np.ndarray, box_scores: np.ndarray,
               indices: np.ndarray) -> PoseResult:
        """Rescoring and OKS-NMS for the poses of one image."""
        o = self.options
        scores = box_scores * keypoint_score(keypoints[..., 2], o.in_vis_thre) if o.rescore else box_scores.copy()
        areas = np.prod(scales * 200.0, axis=1) if len(scales) else np.zeros(0)
        if len(scores) == 0:
            keep: list[int] = []
        elif o.oks_thre >= 1.0:
            keep = [int(i) for i in np.argsort(scores, kind="stable")[::-1]]
        else:
            nms = soft_oks_nms if o.soft_nms else oks_nms
            keep = nms(keypoints, scores, areas, o.oks_thre, self.skeleton.sigmas_array()
                       if self.skeleton.sigmas is not None else None)
            if not keep:  # upstream keeps everything when NMS returns nothing
                keep = list(range(len(scores)))
        return PoseResult(keypoints, scores, box_scores, areas, indices, keep)

    # --- entry points -----------------------------------------------------------------------

    def _select(self, boxes: np.ndarray, box_scores: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if box_scores is None else np.asarray(box_scores, dtype=np.float64).reshape(-1)
        if len(scores) != len(boxes):
            raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
        # degenerate boxes would give a zero scale; give them at least one pixel
        boxes = boxes.copy()
        boxes[:, 2] = np.maximum(boxes[:, 2], boxes[:, 0] + 1.0)
        boxes[:, 3] = np.maximum(boxes[:, 3], boxes[:, 1] + 1.0)
        idx = np.nonzero(scores >= self.options.min_box_score)[0]
        return boxes[idx], scores[idx], idx

    def prepare(self, payload: Any, image: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray | None = None) -> _Pending:
        """Crop the boxes of one image (the image itself is not kept)."""
        b, s, idx = self._select(boxes, box_scores)
        centers, scales = self.centers_scales(b)
        return _Pending(payload, self.crops(image, centers, scales), centers, scales, s, idx)

    def estimate(self, image: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray | None = None) -> PoseResult:
        """Poses for the ``boxes`` (N, 4) xyxy of one BGR image."""
        return next(iter(self.estimate_many([(None, image, boxes, box_scores)])))[1]

    def estimate_many(
        self, items: Iterable[tuple[Any, np.ndarray, np.ndarray, np.ndarray | None]]
    ) -> Iterator[tuple[Any, PoseResult]]:
        """Poses for a sequence of ``(payload, image, boxes, box_scores)``, yielded in order.

        Crops of consecutive images are batched together; a batch runs once ``batch_size`` crops
        or ``batch_size`` images are pending, so memory stays bounded on long videos.
        """
        pending: list[_Pending] = []
        count = 0
        for payload, image, boxes, scores in items:
            p = self.prepare(payload, image, boxes, scores)
            pending.append(p)
            count += len(p.crops)
            if count >= self.batch_size or len(pending) >= self.batch_size:
                yield from self._flush(pending)
                pending, count = [], 0
        if pending:
            yield from self._flush(pending)

    def _flush(self, pending: list[_Pending]) -> Iterator[tuple[Any, PoseResult]]:
        crops = np.concatenate([p.crops for p in pending], axis=0) if pending else np.zeros((0,))
        heatmaps = self.heatmaps(crops) if len(crops) else None
        start = 0
        for p in pending:
            n = len(p.crops)
            hm = heatmaps[start:start + n] if heatmaps is not None else np.zeros(
                (0, self.skeleton.num_keypoints, self.input_size[1] // 4, self.input_size[0] // 4), np.float32)
            start += n
            kps = self.decode(hm, p.centers, p.scales)
            result = self.finish(kps, p.scales, p.box_scores, p.indices)
            result.label_doubt = label_doubt(hm, self.skeleton.flip_pairs)
            yield p.payload, result
