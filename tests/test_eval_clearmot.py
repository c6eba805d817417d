"""Our CLEAR-MOT accumulator against motmetrics' MOTAccumulator run directly on the same frames."""

from __future__ import annotations

import motmetrics as mm
import numpy as np
import pytest

from posetool.eval.clearmot import ClearMotAccumulator


def random_frames(seed: int, n_frames: int = 40):
    """Objects and hypotheses that appear, vanish and swap ids, with do-not-pair entries."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        oids = [o for o in range(6) if rng.random() < 0.7]
        hids = [h for h in range(10, 18) if rng.random() < 0.6]
        d = np.round(rng.random((len(oids), len(hids))), 1)  # rounded: ties on purpose
        d[rng.random(d.shape) < 0.5] = np.nan
        frames.append((oids, hids, d))
    return frames


@pytest.mark.parametrize("seed", range(8))
def test_counts_equal_motmetrics(seed):
    ours, ref = ClearMotAccumulator(), mm.MOTAccumulator(auto_id=True)
    for oids, hids, d in random_frames(seed):
        ours.update(oids, hids, d)
        ref.update(oids, hids, d)
    names = ["num_matches", "num_switches", "num_false_positives", "num_misses", "num_objects", "num_detections"]
    m = mm.metrics.create().compute(ref, metrics=names + ["motp"], return_dataframe=False)
    c = ours.counts
    assert (c.matches, c.switches, c.false_positives, c.misses, c.objects, c.detections) == tuple(int(m[n]) for n in names)
    assert c.sum_d / c.detections == pytest.approx(m["motp"], abs=1e-12)
    # poseval's MOTP numerator: the D column of the whole event table (RAW, TRANSFER, … rows included)
    assert c.sum_d_all == pytest.approx(ref.events["D"].sum(), abs=1e-9)
    assert c.sum_d_all > c.sum_d
