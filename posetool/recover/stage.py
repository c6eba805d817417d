"""The ``recover`` stage: people and keypoints the detector missed, brought back from correspondences.

:class:`RecoverStep` sets the stage up as its CLI and ``posetool run`` both do: the pose model
that re-estimates recovered people inside their box and, when recovered people are re-queried,
the correspondence model (by default the one the upstream ``correspond`` stage ran, a network or
an optical-flow baseline) with the settings that stage recorded.
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


def upstream_correspond(header: Record) -> Record:
    """The provenance entry of the last ``correspond`` stage in the stream ({} if none ran)."""
    return next((s for s in reversed(header.get("stages") or []) if s.get("stage") == "correspond"), {})


def upstream_correspond_params(header: Record) -> Record:
    """The parameters of the last ``correspond`` stage in the stream's provenance ({} if none ran)."""
    return upstream_correspond(header).get("params") or {}


def requery_model(header: Record) -> str:
    """The correspondence model recover re-queries with by default: the upstream stage's when it is
    a registered correspondence model (a network or lk/dis), else the synth preset's."""
    from posetool.hub.registry import list_models

    name = upstream_correspond(header).get("model")
    return name if name in {s.name for s in list_models("correspond")} else SYNTH.correspond


@dataclass
class RecoverStep:
    """Missed people and keypoints recovered from correspondences (a :class:`posetool.engine.chain.Step`)."""

    model: str = SYNTH.pose
    device: str = "auto"
    weights: str | None = None
    corr_model: str | None = None  # None: the upstream correspond stage's model (requery_model)
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
        corr_model = self.corr_model or requery_model(header)
        if opts.requery and opts.people:
            from posetool.correspond.backends import build_estimator

            params = upstream_correspond_params(header)
            corr, corr_sha = build_estimator(corr_model, device=self.device, weights=self.corr_weights,
                                             region=params.get("region", "person"),
                                             context=float(params.get("context", 2.0)),
                                             frame_size=int(params.get("frame_size", 512)),
                                             batch_size=self.batch_size, flow_params=params)
        skel = get_skeleton(header.get("skeleton") or loaded.spec.skeleton or "coco17")
        self.recoverer = Recoverer(estimator, opts, corr, skel.sigmas_array() if skel.sigmas is not None else None)
        header.setdefault("stages", []).append(make_stage(
            "recover", model=self.model, weights_sha256=loaded.weights_sha256,
            params={**opts.as_params(), "corr_model": corr_model if corr else None,
                    "corr_weights_sha256": corr_sha, "batch_size": self.batch_size}))

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        return recover_frames(frames_with_images(records, frames_of(video)), self.recoverer)
