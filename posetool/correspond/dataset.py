"""Torch dataset of self-supervised pairs (:mod:`posetool.correspond.pairs`) over keypoint datasets."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from posetool.correspond.pairs import PairConfig, make_pair
from posetool.data.coco_keypoints import KeypointDataset
from posetool.pose2d.crop import normalize_crops


class PairDataset(Dataset):
    """One pair per annotated person, re-drawn every epoch from ``(seed, epoch, index)``.

    Item: dict with ``image_a``/``image_b`` (3, S, S) float32 normalised, ``queries`` (K, 2),
    ``query_valid`` (K,), ``targets`` (K, 2), ``target_valid`` (K,), ``heatmaps`` (K, S/4, S/4),
    ``weights`` (K,).
    """

    def __init__(self, datasets: list[KeypointDataset], cfg: PairConfig, mean: Any, std: Any, channel_order: str,
                 seed: int = 0, min_keypoints: int = 3) -> None:
        self.datasets = datasets
        self.entries = [(d, i) for d, ds in enumerate(datasets) for i, s in enumerate(ds.samples)
                        if int((s.joints[:, 2] > 0).sum()) >= min_keypoints]
        self.cfg = cfg
        self.mean, self.std, self.order = mean, std, channel_order
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        d, i = self.entries[index]
        ds = self.datasets[d]
        sample = ds.samples[i]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        pair = make_pair(ds.image(sample.key), sample.joints, np.asarray(sample.bbox), self.cfg, rng)
        images = normalize_crops(np.stack([pair.image_a, pair.image_b]), self.mean, self.std, self.order)
        return {
            "image_a": torch.from_numpy(images[0]), "image_b": torch.from_numpy(images[1]),
            "queries": torch.from_numpy(pair.queries), "query_valid": torch.from_numpy(pair.query_valid),
            "targets": torch.from_numpy(pair.targets), "target_valid": torch.from_numpy(pair.target_valid),
            "heatmaps": torch.from_numpy(pair.heatmaps), "weights": torch.from_numpy(pair.weights),
        }
