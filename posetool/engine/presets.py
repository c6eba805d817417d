"""The default models of the chain, named once.

A :class:`Preset` names each stage's model and the settings that go with them. ``synth`` is the
world our shipped models were trained on (no downloads); ``real`` runs on real video with
MediaPipe BlazePose (``posetool weights pull blazepose``). Stage CLIs, ``posetool run`` and
``posetool demo`` take their defaults from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """One stage model per stage (``None``: the stage does not run) and the chain settings tied to them."""

    detect: str
    pose: str
    correspond: str | None
    lift: str | None
    similarity: str           # tracking similarity when correspondences run (oks without them)
    score_thr: float | None   # detector score threshold (None: the detector's own default)


SYNTH = Preset(detect="centernet_r18_synth", pose="simplebaseline_r18_synth", correspond="correspond_r18_synth",
               lift="videopose3d_synth", similarity="corr:0.5,oks:0.5", score_thr=0.5)
REAL = Preset(detect="blazepose", pose="blazepose_full", correspond=None, lift="videopose3d_synth",
              similarity="oks", score_thr=None)
PRESETS: dict[str, Preset] = {"synth": SYNTH, "real": REAL}
