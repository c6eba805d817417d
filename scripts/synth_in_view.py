"""Count people in view over synth seeds, with and without pulling outside starters into view (docs/synth.md).

Run: python scripts/synth_in_view.py   (about a minute on 2 cores; no rendering)
"Old" is the world with GroundRegion.in_view forced true, i.e. nobody pulled into view.
"""
import numpy as np
from posetool.synth.config import SynthConfig
from posetool.synth import scene as sc
from posetool.synth.scene import build_world

def visible(w):
    c = w.camera; jc = w.joints_cam
    u = c.fx * jc[..., 0] / jc[..., 2] + c.cx; v = c.fy * jc[..., 1] / jc[..., 2] + c.cy
    ok = (jc[..., 2] > 0) & (u >= 0) & (u < c.width) & (v >= 0) & (v < c.height)
    return ok.mean(axis=2) > 0.5  # (P, T) person-frames with most joints in the image

changed = 0; never_old = never_new = 0; vis_old = vis_new = 0; total = 0
for seed in list(range(200)) + [4242]:
    cfg = SynthConfig(seed=seed, people=3, frames=60)
    new = build_world(cfg)
    orig = sc.GroundRegion.in_view
    sc.GroundRegion.in_view = lambda self, xz: True
    old = build_world(cfg)
    sc.GroundRegion.in_view = orig
    vo, vn = visible(old), visible(new)
    changed += not np.allclose(old.joints_world, new.joints_world)
    never_old += int((~vo.any(1)).sum()); never_new += int((~vn.any(1)).sum())
    vis_old += int(vo.sum()); vis_new += int(vn.sum()); total += vo.size
    if seed == 4242: print("4242 visible person-frames old", vo.sum(1), "new", vn.sum(1))
print(f"201 seeds: worlds changed {changed}; people never in view old {never_old} new {never_new}; visible person-frames old {vis_old}/{total} new {vis_new}/{total}")
