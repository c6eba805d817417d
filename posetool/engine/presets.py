"""The default models of the chain, and the defaults that go with them, named once.

A :class:`Preset` names each stage's model. ``synth`` is the world our shipped models were trained
on (no downloads); ``real`` runs on real video: MoveNet MultiPose finds every person, MediaPipe's
BlazePose landmark model refines each (``posetool weights pull movenet`` and ``posetool weights
pull blazepose``; docs/movenet.md). Stage CLIs, ``posetool run`` and ``posetool demo`` take their
defaults from here, so a pipe of stages with default options gives the records of ``posetool run``
(issue #18):

- the detector's score threshold is the one measured for the model (its registry spec's
  ``defaults``), whether it runs alone or in ``run``;
- tracking's similarity ``auto`` is decided from the stream itself (:func:`auto_similarity`): the
  similarity measured best with the correspondence model the stream's ``correspond`` stage ran
  (its spec's ``defaults``), so ``run`` and a pipe of stages track alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AUTO = "auto"
# Correspondences and OKS, half each: the ablation in README (tracking ablation) found the
# correspondence similarity gives the fewest identity switches; OKS covers tracks without one.
SIMILARITY_WITH_CORRESPONDENCES = "corr:0.5,oks:0.5"
SIMILARITY_WITHOUT = "oks"


@dataclass(frozen=True)
class Preset:
    """One stage model per stage (``None``: the stage does not run), and whether ``recover`` runs
    after ``correspond``."""

    detect: str
    pose: str
    correspond: str | None
    lift: str | None
    recover: bool = True


SYNTH = Preset(detect="centernet_r18_synth_ft", pose="simplebaseline_r18_synth_ft", correspond="correspond_r18_synth",
               lift="videopose3d_synth")
# Real video: correspondences learnt from real footage track identities best on the hand-labelled
# vtest segment; recovery found none of the labelled people the chain misses there and cost precision,
# so it stays off (README, "Tracking on real video"; docs/correspond.md).
REAL = Preset(detect="movenet", pose="blazepose_full", correspond="correspond_real", lift="videopose3d_synth",
              recover=False)
PRESETS: dict[str, Preset] = {"synth": SYNTH, "real": REAL}


def auto_similarity(header: Mapping[str, Any]) -> str:
    """Tracking similarity for ``--similarity auto``: OKS without correspondences; with a ``correspond``
    stage in the stream (its header's ``stages``), the similarity registered as measured best for its
    model (``defaults["similarity"]`` of the spec: ``corr`` for ``correspond_real``), else the mix."""
    from posetool.hub.registry import list_models

    stages = [s for s in header.get("stages") or [] if isinstance(s, Mapping) and s.get("stage") == "correspond"]
    if not stages:
        return SIMILARITY_WITHOUT
    spec = {s.name: s for s in list_models("correspond")}.get(str(stages[-1].get("model")))
    measured = spec.defaults.get("similarity") if spec is not None else None
    return str(measured or SIMILARITY_WITH_CORRESPONDENCES)
