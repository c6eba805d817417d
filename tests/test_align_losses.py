"""TCC's cycle-back losses against a direct loop over pairs and frames, and the matching helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from posetool.align.losses import (
    cycle_back_classification, cycle_back_regression, temporal_contrastive,
)
from posetool.align.match import confidence, distances, dtw, nearest
from posetool.eval.align import kendalls_tau, phase_classification, phase_error, phase_progression, progression_targets


def _loop_losses(embs: np.ndarray, steps: np.ndarray, lengths: np.ndarray, temperature: float, lam: float,
                 smoothing: float) -> tuple[float, float]:
    """The paper's equations, one cycle at a time in plain Python (float64)."""
    b, n, d = embs.shape
    cls_terms, reg_terms = [], []
    for i in range(b):
        for j in range(b):
            if i == j:
                continue
            for k in range(n):
                u = embs[i, k]
                logits_v = [-sum((u[c] - embs[j, m, c]) ** 2 for c in range(d)) / d / temperature for m in range(n)]
                top = max(logits_v)
                weights = [math.exp(v - top) for v in logits_v]
                alpha = [w / sum(weights) for w in weights]
                soft = [sum(alpha[m] * embs[j, m, c] for m in range(n)) for c in range(d)]
                back = [-sum((soft[c] - embs[i, m, c]) ** 2 for c in range(d)) / d / temperature for m in range(n)]
                top = max(back)
                log_z = top + math.log(sum(math.exp(v - top) for v in back))
                log_beta = [v - log_z for v in back]
                target = [(1 - smoothing) * (m == k) + smoothing / n for m in range(n)]
                cls_terms.append(-sum(t * lb for t, lb in zip(target, log_beta)))
                beta = [math.exp(v) for v in log_beta]
                times = [steps[i, m] / lengths[i] for m in range(n)]
                mu = sum(bt * t for bt, t in zip(beta, times))
                var = sum(bt * (t - mu) ** 2 for bt, t in zip(beta, times))
                reg_terms.append((times[k] - mu) ** 2 / var + lam * math.log(math.sqrt(var)))
    return float(np.mean(cls_terms)), float(np.mean(reg_terms))


def test_cycle_back_losses_equal_a_direct_loop():
    rng = np.random.default_rng(3)
    embs = rng.normal(size=(3, 5, 4))
    steps = np.sort(rng.choice(40, size=(3, 5), replace=True), axis=1)
    lengths = np.array([40, 45, 50])
    want_cls, want_reg = _loop_losses(embs, steps, lengths, 0.1, 0.001, 0.1)
    e = torch.tensor(embs, dtype=torch.float64)
    got_cls = cycle_back_classification(e, temperature=0.1, label_smoothing=0.1)
    got_reg = cycle_back_regression(e, torch.tensor(steps), torch.tensor(lengths), temperature=0.1,
                                    variance_lambda=0.001)
    assert float(got_cls) == pytest.approx(want_cls, rel=1e-9)
    assert float(got_reg) == pytest.approx(want_reg, rel=1e-9)


def test_losses_reward_aligned_sequences():
    # The cycle U -> V -> U comes back where it started when V holds a match for every frame of U,
    # and cannot when V has collapsed to one point; the contrastive baseline wants neighbours in
    # time close in the embedding, which a shuffled sequence breaks.
    t = torch.linspace(0, 1, 20, dtype=torch.float64)
    path = torch.stack([torch.cos(3 * t), torch.sin(3 * t), t], -1) * 3
    aligned = torch.stack([path, path + 0.01])
    collapsed = torch.stack([path, path.mean(0).expand(20, 3)])
    shuffled = torch.stack([path, path])[:, torch.randperm(20, generator=torch.Generator().manual_seed(0))]
    steps, lengths = torch.arange(20).repeat(2, 1), torch.tensor([20, 20])
    assert float(cycle_back_classification(aligned)) < float(cycle_back_classification(collapsed))
    regression = [float(cycle_back_regression(e, steps, lengths)) for e in (aligned, collapsed)]
    assert regression[0] < regression[1]
    assert float(temporal_contrastive(aligned, steps, lengths)) < float(temporal_contrastive(shuffled, steps, lengths))


def test_dtw_follows_a_known_warp_and_nearest_does_without_order():
    t_ref = np.linspace(0, 1, 60)
    ref = np.stack([np.cos(4 * t_ref), np.sin(4 * t_ref), t_ref], -1)
    warp = np.linspace(0, 1, 45) ** 1.7  # the query's frames sample the reference's time unevenly
    query = np.stack([np.cos(4 * warp), np.sin(4 * warp), warp], -1)
    truth = warp * 59
    dist = distances(query, ref)
    for match in (nearest(dist), dtw(dist)):
        assert np.max(np.abs(match - truth)) <= 1.0
    assert np.all(np.diff(dtw(dist)) >= 0)
    conf = confidence(dist, nearest(dist), 3, window=2)
    assert conf.shape == (45,) and np.all((conf > 0) & (conf <= 1 + 1e-9))


def test_measures_on_known_cases():
    assert kendalls_tau(np.arange(10)) == pytest.approx(1.0)
    assert kendalls_tau(np.arange(10)[::-1]) == pytest.approx(-1.0)
    phase = np.linspace(0, 1, 11)
    assert phase_error(phase, phase, np.arange(11)) == 0.0
    assert phase_error(phase, phase, np.full(11, 5)) == pytest.approx(np.mean(np.abs(phase - 0.5)))
    cls = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    targets = progression_targets(cls, 3)
    assert targets.shape == (10, 2)
    np.testing.assert_allclose(targets[:, 0], (np.arange(10) - 2) / 10)
    np.testing.assert_allclose(targets[:, 1], (np.arange(10) - 4) / 10)
    # features that carry time linearly give R^2 = 1; a perfect separable feature gives accuracy 1
    x = np.stack([np.arange(10.0), np.ones(10)], 1)
    assert phase_progression(x, targets, x, targets) > 0.98
    assert phase_progression(x, targets, x[::-1], targets) < 0
    onehot = np.eye(3)[cls] + np.random.default_rng(0).normal(0, 0.05, (10, 3))
    assert phase_classification(onehot, cls, onehot, cls) == 1.0
    assert phase_classification(onehot, cls, onehot[::-1], cls) < 0.7
