"""The ``recover`` stage: people and keypoints the detector missed, brought back from correspondences.

:class:`RecoverStep` sets the stage up as its CLI and ``posetool run`` both do: the pose model
that re-estimates recovered people inside their box and, when recovered people are re-queried,
the correspondence model with the settings the upstream ``correspond`` stage recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from posetool.engine.presets import SYNTH
from posetool.recover.recoverer import Recoverer, RecoverOptions, recover_frames
from posetool.stream import make_stage
from posetool.video.align import frames_with_images
from posetool.video.tee import frames_of

Record = dict[str, Any]


def upstream_correspond_params(header: Record) -> Record:
    """The parameters of the last ``correspond`` stage in the stream's provenance ({} if none ran)."""
    return next((s.get("params") or {} for s in reversed(header.get("stages") or []) if s.get("stage") == "correspond"), {})


@dataclass
class RecoverStep:
    """Missed people and keypoints recovered from correspondences (a :class:`posetool.engine.chain.Step`)."""

    model: str = SYNTH.pose
    device: str = "auto"
    weights: str | None = None
    corr_model: str = SYNTH.correspond
    corr_weights: str | None = None
    batch_size: int = 16
    options: RecoverOptions | None = None  # default: the authors' thresholds
    name: str = "recover"

    def start(self, header: Record) -> None:
        """Load the models and append the provenance entry."""
        from posetool.hub.loader import load_model
        from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions
        from posetool.skeletons import get_skeleton

        opts = self.options or RecoverOptions()
        loaded = load_model(self.model, task="pose2d", weights=self.weights, device=self.device)
        # every box is estimated as given: no rescoring, no NMS inside the estimator (recover does its own)
        estimator = TopDownEstimator.from_loaded(loaded, TopDownOptions(rescore=False, oks_thre=1.0),
                                                 batch_size=self.batch_size)
        corr, corr_sha = None, None
        if opts.requery and opts.people:
            from posetool.correspond.infer import CorrespondenceEstimator

            params = upstream_correspond_params(header)
            cl = load_model(self.corr_model, task="correspond", weights=self.corr_weights, device=self.device)
            corr = CorrespondenceEstimator.from_loaded(cl, region=params.get("region", "person"),
                                                       context=float(params.get("context", 2.0)),
                                                       frame_size=int(params.get("frame_size", 512)),
                                                       batch_size=self.batch_size)
            corr_sha = cl.weights_sha256
        skel = get_skeleton(header.get("skeleton") or loaded.spec.skeleton or "coco17")
        self.recoverer = Recoverer(estimator, opts, corr, skel.sigmas_array() if skel.sigmas is not None else None)
        header.setdefault("stages", []).append(make_stage(
            "recover", model=self.model, weights_sha256=loaded.weights_sha256,
            params={**opts.as_params(), "corr_model": self.corr_model if corr else None,
                    "corr_weights_sha256": corr_sha, "batch_size": self.batch_size}))

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        return recover_frames(frames_with_images(records, frames_of(video)), self.recoverer)
