"""The ``correspond`` stage: keypoint correspondences from frame t−1 into frame t, written into frame t.

For each frame t whose previous stream frame is t−1, every instance i of frame t−1 with keypoints
is queried; frame t's record gets ``correspondences``: a list of entries

``{"source": i, "keypoints": K×3 [x, y, affinity] (frame-t pixels; null where i lacks the keypoint),
"at_instances": N×K}`` — each refined map read at the same keypoint of each instance j of frame t
(null where j lacks the keypoint, a row of nulls for an instance without keypoints) —

the contract :mod:`posetool.track.similarity` reads. The optical-flow baselines (``--model lk``,
``dis``: :mod:`posetool.correspond.flow`) write the same entries, with the forward–backward
affinity and a modelled map for ``at_instances``. The first frame, and a frame after a gap in
the stream, get an empty list. Memory: one frame of look-back (record, image, and in ``frame``
mode its features).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.engine.presets import SYNTH
from posetool.stream import make_stage, to_plain
from posetool.stream.encoding import points_array
from posetool.video.align import frames_with_images
from posetool.video.tee import frames_of

Record = dict[str, Any]


def instance_keypoints(inst: Record) -> np.ndarray | None:
    """(K, 3) float array of an instance's keypoints (NaN for nulls), or None without keypoints."""
    kp = inst.get("keypoints")
    if not kp:
        return None
    return points_array(kp)


def query_people(rec: Record, min_confidence: float) -> tuple[list[int], list[np.ndarray], list[Any]]:
    """Instances of a frame to query: indices, keypoints (NaN where absent or ≤ ``min_confidence``), boxes."""
    idx, kps, boxes = [], [], []
    for i, inst in enumerate(rec.get("instances") or []):
        kp = instance_keypoints(inst)
        if kp is None:
            continue
        bad = ~np.isfinite(kp).all(1) | (np.nan_to_num(kp[:, 2], nan=0.0) <= min_confidence)
        kp = kp.copy()
        kp[bad] = np.nan
        if bad.all():
            continue
        idx.append(i)
        kps.append(kp)
        boxes.append(inst.get("bbox"))
    return idx, kps, boxes


def people_keypoints(rec: Record, k: int) -> np.ndarray:
    """(N, K, 3) keypoints of all instances of a frame (NaN rows for instances without keypoints)."""
    inst = rec.get("instances") or []
    out = np.full((len(inst), k, 3), np.nan)
    for j, x in enumerate(inst):
        kp = instance_keypoints(x)
        if kp is not None and len(kp) == k:
            out[j] = kp
    return out


def correspondence_entries(estimator: Any, prev: Record, prev_image: np.ndarray, rec: Record,
                           image: np.ndarray, min_confidence: float = 0.0,
                           sources: list[int] | None = None) -> list[Record]:
    """The ``correspondences`` list of ``rec`` (frame t) for the instances of ``prev`` (frame t−1).

    ``estimator`` is a network's :class:`~posetool.correspond.infer.CorrespondenceEstimator` or an
    optical-flow :class:`~posetool.correspond.flow.FlowCorrespondence` (same ``correspond`` call).
    ``sources`` restricts the queried instances of ``prev`` (default: all with keypoints).
    """
    idx, kps, boxes = query_people(prev, min_confidence)
    if sources is not None:
        keep = [n for n, i in enumerate(idx) if i in set(sources)]
        idx, kps, boxes = [idx[n] for n in keep], [kps[n] for n in keep], [boxes[n] for n in keep]
    if not idx:
        return []
    k = len(kps[0])
    people = people_keypoints(rec, k)
    results = estimator.correspond(prev_image, image, kps, boxes, people,
                                   frame_ids=(int(prev["frame"]), int(rec["frame"])))
    entries = []
    for i, res in zip(idx, results):
        at = [to_plain(np.round(res.at_instances[j], 4)) for j in range(len(people))]
        entries.append({"source": i, "keypoints": to_plain(np.round(res.keypoints, 3)), "at_instances": at})
    return entries


def correspond_frames(records: Iterable[Record], video: Any, estimator: Any,
                      min_confidence: float = 0.0) -> Iterator[Record]:
    """``records`` with ``correspondences`` added (see module docstring); ``video`` gives their images."""
    prev: Record | None = None
    prev_image: np.ndarray | None = None
    for rec, image in frames_with_images(records, video):
        if prev is not None and int(prev["frame"]) == int(rec["frame"]) - 1:
            rec["correspondences"] = correspondence_entries(estimator, prev, prev_image, rec, image, min_confidence)
        else:
            rec["correspondences"] = []
        prev, prev_image = rec, image
        yield rec


@dataclass
class CorrespondStep:
    """Keypoint correspondences from frame t−1 into frame t (a :class:`posetool.engine.chain.Step`).

    ``model`` is a correspondence network or an optical-flow baseline (``lk``, ``dis``:
    :mod:`posetool.correspond.flow`); ``fb_sigma`` sets the flow's affinity scale (None: its default).
    """

    model: str = SYNTH.correspond
    device: str = "auto"
    weights: str | None = None
    region: str = "person"
    context: float | None = None  # None: the model's own (its spec's defaults)
    frame_size: int = 512
    min_confidence: float = 0.0
    batch_size: int = 16
    fb_sigma: float | None = None
    decode: str | None = None  # None: the estimator's default (dark); see posetool.correspond.infer
    blur_kernel: int | None = None
    query_offset: bool | None = None
    input_size: int | None = None  # None: the model's (its spec's input side)
    name: str = "correspond"

    def start(self, header: Record) -> None:
        """Build the estimator and append the provenance entry (its params are what ``recover`` re-queries with)."""
        from posetool.correspond.backends import build_estimator
        from posetool.correspond.flow import FlowCorrespondence

        self.estimator, sha256 = build_estimator(self.model, device=self.device, weights=self.weights,
                                                 region=self.region, context=self.context,
                                                 frame_size=self.frame_size, batch_size=self.batch_size,
                                                 decode=self.decode, blur_kernel=self.blur_kernel,
                                                 query_offset=self.query_offset, input_size=self.input_size,
                                                 fb_sigma=self.fb_sigma)
        if isinstance(self.estimator, FlowCorrespondence):  # its own settings; region, context, frame size do not apply
            params = {**self.estimator.params(), "min_confidence": self.min_confidence}
        else:
            est = self.estimator
            params = {"region": self.region, "context": est.context, "frame_size": self.frame_size,
                      "min_confidence": self.min_confidence, "batch_size": self.batch_size,
                      "decode": est.decoding, "blur_kernel": est.blur_kernel, "query_offset": est.query_offset,
                      "input_size": est.input_size}
        header.setdefault("stages", []).append(
            make_stage("correspond", model=self.model, weights_sha256=sha256, params=params))

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        return correspond_frames(records, frames_of(video), self.estimator, self.min_confidence)
