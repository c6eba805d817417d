"""The default models of the chain, and the defaults that go with them, named once.

A :class:`Preset` names each stage's model. ``synth`` is the world our shipped models were trained
on (no downloads); ``real`` runs on real video: MoveNet MultiPose finds every person, MediaPipe's
BlazePose landmark model refines each (``posetool weights pull movenet`` and ``posetool weights
pull blazepose``; docs/movenet.md). Stage CLIs, ``posetool run`` and ``posetool demo`` take their
defaults from here, so a pipe of stages with default options gives the records of ``posetool run``
(issue #18):

- the detector's score threshold is the one measured for the model (its registry spec's
  ``defaults``), whether it runs alone or in ``run``;
- tracking's similarity ``auto`` is decided from the stream itself (:func:`auto_similarity`).
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
    """One stage model per stage (``None``: the stage does not run)."""

    detect: str
    pose: str
    correspond: str | None
    lift: str | None


SYNTH = Preset(detect="centernet_r18_synth_ft", pose="simplebaseline_r18_synth_ft", correspond="correspond_r18_synth",
               lift="videopose3d_synth")
REAL = Preset(detect="movenet", pose="blazepose_full", correspond=None, lift="videopose3d_synth")
PRESETS: dict[str, Preset] = {"synth": SYNTH, "real": REAL}


def auto_similarity(header: Mapping[str, Any]) -> str:
    """Tracking similarity for ``--similarity auto``: the mix with correspondences when a
    ``correspond`` stage wrote to the stream (its header's ``stages``), else OKS."""
    stages = header.get("stages") or []
    has_corr = any(isinstance(s, Mapping) and s.get("stage") == "correspond" for s in stages)
    return SIMILARITY_WITH_CORRESPONDENCES if has_corr else SIMILARITY_WITHOUT
