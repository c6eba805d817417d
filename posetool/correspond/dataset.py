"""Torch dataset of self-supervised pairs (:mod:`posetool.correspond.pairs`) over keypoint datasets."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from posetool.correspond.data import TrackedFootage
from posetool.correspond.pairs import Pair, PairConfig, make_frame_pair, make_pair
from posetool.data.coco_keypoints import KeypointDataset
from posetool.engine.trainer import EpochDataset
from posetool.preprocess import normalize


class PairDataset(EpochDataset):
    """One pair per annotated person, and one per tracked person-frame pair, re-drawn every epoch
    from ``(seed, epoch, index)``.

    Entries: ``("image", d, i)`` — sample i of single-image dataset d, a pair made by augmentation;
    ``("frames", f, j)`` — pair j of tracked footage f, frame t−k (k drawn among the frames where the
    track is labelled) → frame t.

    Item: dict with ``image_a``/``image_b`` (3, S, S) float32 normalised, ``queries`` (K, 2),
    ``query_valid`` (K,), ``targets`` (K, 2), ``target_valid`` (K,), ``heatmaps`` (K, S/4, S/4),
    ``weights`` (K,).
    """

    def __init__(self, datasets: list[KeypointDataset], cfg: PairConfig, mean: Any, std: Any, channel_order: str,
                 seed: int = 0, min_keypoints: int = 3, tracked: list[TrackedFootage] | None = None,
                 flip_index: np.ndarray | None = None) -> None:
        entries: list[tuple[str, int, int]] = [("image", d, i) for d, ds in enumerate(datasets)
                                               for i, s in enumerate(ds.samples)
                                               if int((s.joints[:, 2] > 0).sum()) >= min_keypoints]
        self.tracked = list(tracked or [])
        entries += [("frames", f, j) for f, tf in enumerate(self.tracked) for j in range(len(tf.pairs))]
        super().__init__(entries, seed)
        self.datasets = datasets
        self.cfg = cfg
        self.mean, self.std, self.order = mean, std, channel_order
        self.flip_index = flip_index

    @property
    def frame_pairs(self) -> int:
        """How many entries are real frame pairs."""
        return sum(1 for e in self.entries if e[0] == "frames")

    def _pair(self, index: int) -> Pair:
        kind, d, i = self.entries[index]
        rng = self.rng(index)
        if kind == "image":
            ds = self.datasets[d]
            sample = ds.samples[i]
            return make_pair(ds.image(sample.key), sample.joints, np.asarray(sample.bbox), self.cfg, rng,
                             self.flip_index)
        tf = self.tracked[d]
        t, track, earlier = tf.pairs[i]
        a = int(earlier[rng.integers(len(earlier))])
        joints_a, box_a = tf.people[a][track]
        joints_b, _ = tf.people[t][track]
        return make_frame_pair(tf.image(a), tf.image(t), joints_a, joints_b, np.asarray(box_a), self.cfg, rng,
                               self.flip_index)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        pair = self._pair(index)
        images = normalize(np.stack([pair.image_a, pair.image_b]), self.mean, self.std, self.order)
        return {
            "image_a": images[0], "image_b": images[1],
            "queries": torch.from_numpy(pair.queries), "query_valid": torch.from_numpy(pair.query_valid),
            "targets": torch.from_numpy(pair.targets), "target_valid": torch.from_numpy(pair.target_valid),
            "heatmaps": torch.from_numpy(pair.heatmaps), "weights": torch.from_numpy(pair.weights),
        }
