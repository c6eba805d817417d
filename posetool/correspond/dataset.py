"""Torch dataset of self-supervised pairs (:mod:`posetool.correspond.pairs`) over keypoint datasets."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from posetool.correspond.pairs import PairConfig, make_pair
from posetool.data.coco_keypoints import KeypointDataset
from posetool.engine.trainer import EpochDataset
from posetool.preprocess import normalize


class PairDataset(EpochDataset):
    """One pair per annotated person, re-drawn every epoch from ``(seed, epoch, index)``.

    Item: dict with ``image_a``/``image_b`` (3, S, S) float32 normalised, ``queries`` (K, 2),
    ``query_valid`` (K,), ``targets`` (K, 2), ``target_valid`` (K,), ``heatmaps`` (K, S/4, S/4),
    ``weights`` (K,).
    """

    def __init__(self, datasets: list[KeypointDataset], cfg: PairConfig, mean: Any, std: Any, channel_order: str,
                 seed: int = 0, min_keypoints: int = 3) -> None:
        super().__init__([(d, i) for d, ds in enumerate(datasets) for i, s in enumerate(ds.samples)
                          if int((s.joints[:, 2] > 0).sum()) >= min_keypoints], seed)
        self.datasets = datasets
        self.cfg = cfg
        self.mean, self.std, self.order = mean, std, channel_order

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        d, i = self.entries[index]
        ds = self.datasets[d]
        sample = ds.samples[i]
        pair = make_pair(ds.image(sample.key), sample.joints, np.asarray(sample.bbox), self.cfg, self.rng(index))
        images = normalize(np.stack([pair.image_a, pair.image_b]), self.mean, self.std, self.order)
        return {
            "image_a": images[0], "image_b": images[1],
            "queries": torch.from_numpy(pair.queries), "query_valid": torch.from_numpy(pair.query_valid),
            "targets": torch.from_numpy(pair.targets), "target_valid": torch.from_numpy(pair.target_valid),
            "heatmaps": torch.from_numpy(pair.heatmaps), "weights": torch.from_numpy(pair.weights),
        }
