"""What the correspondence estimators share without torch: the result of one query person and the
check of the region options, so that the optical-flow models (:mod:`posetool.correspond.flow`)
start without importing the network's code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetool.errors import OptionError

REGIONS = ("person", "frame")


@dataclass
class Correspondence:
    """Result for one query person: ``keypoints`` (K, 3) x, y (frame-t pixels, NaN where not queried)
    and affinity; ``at_instances`` (M, K) map values at the keypoints of frame t's M people (NaN where
    the person lacks that keypoint)."""

    keypoints: np.ndarray
    at_instances: np.ndarray


def check_region(region: str, frame_size: int) -> None:
    """Raise :class:`OptionError` naming ``region`` or ``frame_size`` if the estimator cannot use them."""
    if region not in REGIONS:
        raise OptionError("region", f"must be person or frame, got {region!r}")
    if frame_size % 32:  # the network downsamples by 32
        raise OptionError("frame_size", f"must be a multiple of 32, got {frame_size}")
