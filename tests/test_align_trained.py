"""The shipped embedders on a take no training saw: a time-warped copy aligns back to the warp,
by nearest neighbour and by DTW."""

from __future__ import annotations

import numpy as np
import pytest

from posetool.align.embedder import AlignEmbedder
from posetool.align.match import distances, dtw, nearest
from posetool.align.sequences import Performance, performance, time_warped
from posetool.hub.loader import load_model
from posetool.synth.export import stream_frames, stream_header
from posetool.synth.takes import TakeConfig, simulate_take


def _take(action: str, seed: int) -> Performance:
    seq = simulate_take(TakeConfig(action, seed=seed, tempo=1.0, tempo_change=1.0, pauses=()))
    return performance(stream_header(seq, None), list(stream_frames(seq)), 1, 2, f"{action} seed {seed}")


@pytest.mark.parametrize("model", ["align_synth", "align_any"])
@pytest.mark.parametrize("action,seed", [("squat", 971), ("jump", 972), ("lunge", 973), ("random-20005", 974)])
def test_time_warped_copy_aligns_back_to_the_warp(model: str, action: str, seed: int):
    embedder = AlignEmbedder.from_loaded(load_model(model, task="align", device="cpu"))
    ref = _take(action, seed)
    query, truth = time_warped(ref, int(len(ref) * 1.3), 1.8)
    dist = distances(embedder.embed(query), embedder.embed(ref))
    nn_err = np.abs(nearest(dist) - truth)
    dtw_err = np.abs(dtw(dist) - truth)
    assert np.mean(nn_err <= 3) >= 0.85, f"{action}: nearest neighbours off by {np.median(nn_err):.1f} frames (median)"
    assert np.mean(dtw_err) <= 2.0, f"{action}: DTW off by {np.mean(dtw_err):.1f} frames on average"
