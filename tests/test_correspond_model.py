"""Correspondence network: the correlation against a direct computation, shapes, inference helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posetool.correspond.infer import CorrespondenceEstimator
from posetool.correspond.pairs import PairConfig, make_pair
from posetool.nn.correspondence import CorrespondenceNet, correlate, normalize_features
from posetool.pose2d.crop import affine_points
from posetool.preprocess import letterbox_matrix


def direct_correlation(fa: torch.Tensor, fb: torch.Tensor, q: np.ndarray, valid: np.ndarray, norm: str,
                       temperature: float = 1.0) -> np.ndarray:
    """Loop version: patch (C, 3, 3) of normalised fa around each query (zeros off the map) dotted with
    the zero-padded 3×3 neighbourhood of normalised fb at every position, then a softmax."""
    a = normalize_features(fa, norm).double().numpy()
    b = normalize_features(fb, norm).double().numpy()
    n, c, h, w = a.shape
    out = np.zeros((n, q.shape[1], h, w))
    pa = np.zeros((n, c, h + 2, w + 2))
    pa[:, :, 1:-1, 1:-1] = a
    pb = np.zeros((n, c, h + 2, w + 2))
    pb[:, :, 1:-1, 1:-1] = b
    for i in range(n):
        for s in range(q.shape[1]):
            x, y = int(np.floor(q[i, s, 0] + 0.5)), int(np.floor(q[i, s, 1] + 0.5))  # nearest cell
            if not valid[i, s] or not (0 <= x < w and 0 <= y < h):
                continue
            kernel = pa[i, :, y:y + 3, x:x + 3]
            resp = temperature * np.array([[(kernel * pb[i, :, yy:yy + 3, xx:xx + 3]).sum() for xx in range(w)]
                                           for yy in range(h)])
            e = np.exp(resp - resp.max())
            out[i, s] = e / e.sum()
    return out


@pytest.mark.parametrize("norm,temperature", [("sumsq", 1.0), ("l2", 1.0), ("l2", 7.5)])
def test_correlation_equals_direct_computation(norm: str, temperature: float) -> None:
    g = torch.Generator().manual_seed(0)
    fa = torch.randn(2, 5, 6, 7, generator=g)
    fb = torch.randn(2, 5, 6, 7, generator=g)
    # interior, all four borders and corners, off the grid, and an invalid query
    q = np.array([[[3.2, 2.7], [0.0, 0.0], [6.4, 5.4], [0.4, 4.6], [6.0, 0.2]],
                  [[2.0, 3.0], [-1.0, 2.0], [7.0, 1.0], [4.4, 4.4], [1.0, 1.0]]])
    valid = np.ones((2, 5), dtype=bool)
    valid[1, 4] = False
    got = correlate(fa, fb, torch.tensor(q, dtype=torch.float32), torch.tensor(valid), norm,
                    temperature).double().numpy()
    want = direct_correlation(fa, fb, q, valid, norm, temperature)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert np.allclose(got[1, 1], 0) and np.allclose(got[1, 2], 0) and np.allclose(got[1, 4], 0)
    assert np.isclose(got[0, 0].sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("backbone,kwargs", [("resnet", {"width": 8}), ("bninception", {"width": 0.125})])
def test_network_shapes(backbone: str, kwargs: dict) -> None:
    net = CorrespondenceNet(backbone, num_keypoints=17, refine_width=8, **kwargs).eval()
    x = torch.randn(3, 3, 64, 64)
    q = torch.rand(3, 17, 2) * 62  # every query on the 16×16 grid (nearest cell < 16)
    with torch.no_grad():
        aff, logits = net(x, x, q)
    assert aff.shape == logits.shape == (3, 17, 16, 16)
    assert net.features(x).shape == (3, 32, 16, 16)
    assert torch.allclose(aff.sum((2, 3)), torch.ones(3, 17), atol=1e-4)


def test_pair_ground_truth_follows_the_transform() -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    joints = np.array([[80.0, 40, 1], [90, 70, 1], [70, 100, 1], [0, 0, 0]])
    pair = make_pair(img, joints, np.array([60.0, 30, 40, 80]), PairConfig(size=64, photometric=False), rng)
    # a bright marker at a keypoint of the source lands at its target in image b
    marked = img.copy()
    marked[38:43, 78:83] = 255
    again = make_pair(marked, joints, np.array([60.0, 30, 40, 80]), PairConfig(size=64, photometric=False),
                      np.random.default_rng(3))
    assert not pair.query_valid[3] and pair.weights[3] == 0
    assert pair.target_valid[0]  # this seed keeps keypoint 0 inside image b
    tx, ty = np.round(again.targets[0]).astype(int)
    assert again.image_b[ty, tx].min() > 200
    hm = pair.heatmaps[0]
    iy, ix = np.unravel_index(hm.argmax(), hm.shape)
    assert abs(ix * 4 - pair.targets[0, 0]) <= 2.5 and abs(iy * 4 - pair.targets[0, 1]) <= 2.5
    assert np.all(pair.heatmaps[3] == 0)


def test_keypoints_cut_by_the_crop_are_absent_targets() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    joints = np.array([[80.0, 40, 1], [90, 70, 1]])
    cfg = PairConfig(size=64, photometric=False, translation=0.9, scale=(1.0, 1.0), rotation=0.0)
    absent = 0
    for seed in range(20):
        pair = make_pair(img, joints, np.array([70.0, 30, 30, 50]), cfg, np.random.default_rng(seed))
        gone = pair.query_valid & ~pair.target_valid
        absent += int(gone.sum())
        assert np.all(pair.heatmaps[gone] == 0) and np.all(pair.weights[gone] == 1)
    assert absent > 0


def test_estimator_person_and_frame_modes() -> None:
    torch.manual_seed(0)
    net = CorrespondenceNet("resnet", num_keypoints=17, width=8, refine_width=8, norm="l2")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)
    b = rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)
    q1 = np.column_stack([rng.uniform(20, 100, 17), rng.uniform(10, 80, 17), np.ones(17)])
    q1[4] = np.nan
    q2 = q1.copy() + [5, 0, 0]
    people = np.stack([q1, q2, np.full((17, 3), np.nan)])
    for region in ("person", "frame"):
        est = CorrespondenceEstimator(net, 64, (0.5,) * 3, (0.25,) * 3, region=region, frame_size=64, batch_size=1)
        res = est.correspond(a, b, [q1, q2], [None, [10, 10, 60, 80]], people, frame_ids=(0, 1))
        assert len(res) == 2
        for r in res:
            assert r.keypoints.shape == (17, 3) and r.at_instances.shape == (3, 17)
            assert np.isnan(r.keypoints[4]).all() and np.isnan(r.at_instances[:, 4]).all()
            assert np.isnan(r.at_instances[2]).all()
            ok = np.isfinite(r.keypoints[:, 2])
            assert np.all((r.keypoints[ok, 2] >= 0) & (r.keypoints[ok, 2] <= 1))
    # frame mode reuses the cached features of frame 1 when it becomes image a
    est = CorrespondenceEstimator(net, 64, (0.5,) * 3, (0.25,) * 3, region="frame", frame_size=64)
    est.correspond(a, b, [q1], frame_ids=(0, 1))
    cached = est._cache[1]
    est.correspond(b, a, [q1], frame_ids=(1, 2))
    assert est._cache[0] == 2 and cached is not est._cache[1]


def test_letterbox_keeps_aspect() -> None:
    m = letterbox_matrix(640, 480, 512, 512)
    corners = affine_points(np.array([[0.0, 0.0], [640, 480]]), m)
    np.testing.assert_allclose(corners, [[0, 64], [512, 448]])
