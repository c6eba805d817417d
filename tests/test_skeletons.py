"""Keypoint layouts and mappings."""

from __future__ import annotations

import numpy as np
import pytest

from posetool.errors import PosetoolError
from posetool.skeletons import (
    BLAZEPOSE33, COCO17, H36M17, POSETRACK18, SKELETONS, get_skeleton, map_keypoints, map_points_3d,
)


@pytest.mark.parametrize("skel", list(SKELETONS.values()), ids=list(SKELETONS))
def test_flip_pairs_swap_left_and_right_names(skel):
    for a, b in skel.flip_pairs:
        na, nb = skel.keypoints[a], skel.keypoints[b]
        assert ("left" in na and nb == na.replace("left", "right")) or ("left" in nb and na == nb.replace("left", "right"))
    perm = skel.flip_permutation
    assert sorted(perm) == list(range(skel.num_keypoints))
    assert (perm[perm] == np.arange(skel.num_keypoints)).all()


def test_sizes_and_sigmas():
    assert (COCO17.num_keypoints, H36M17.num_keypoints, POSETRACK18.num_keypoints, BLAZEPOSE33.num_keypoints) == (17, 17, 17, 33)
    assert COCO17.sigmas_array()[0] == pytest.approx(0.026) and COCO17.sigmas_array()[11] == pytest.approx(0.107)
    assert H36M17.parents[8] == 7 and H36M17.parents[11] == 8 and H36M17.parents[14] == 8
    assert len(COCO17.bones) == 19
    with pytest.raises(PosetoolError):
        H36M17.sigmas_array()
    with pytest.raises(PosetoolError, match="known skeletons"):
        get_skeleton("mpii16")


def test_blazepose_to_coco_picks_the_same_named_points():
    kps = np.stack([np.arange(33) * 10.0, np.arange(33) * 20.0, np.linspace(0, 1, 33)], axis=1)
    out = map_keypoints(kps, "blazepose33", "coco17")
    for i, name in enumerate(COCO17.keypoints):
        j = BLAZEPOSE33.index(name)
        assert out[i].tolist() == kps[j].tolist()


def test_coco_to_posetrack18_derives_head_points():
    kps = np.zeros((17, 3))
    kps[:, 2] = 0.9
    kps[COCO17.index("nose")] = [100, 50, 0.8]
    kps[COCO17.index("left_shoulder")] = [120, 100, 0.7]
    kps[COCO17.index("right_shoulder")] = [80, 100, 0.6]
    out = map_keypoints(kps, "coco17", "posetrack18")
    np.testing.assert_allclose(out[POSETRACK18.index("head_bottom")], [100, 100, 0.6])
    # head_top = nose + 0.5 (nose - neck): 50 + 0.5 * (50 - 100) = 25
    np.testing.assert_allclose(out[POSETRACK18.index("head_top")], [100, 25, 0.6])
    for name in POSETRACK18.keypoints[3:]:
        assert out[POSETRACK18.index(name)].tolist() == kps[COCO17.index(name)].tolist()


def test_coco_to_h36m_and_3d_mapping_with_batch_dims():
    pts = np.random.default_rng(0).normal(size=(5, 17, 3))
    out = map_points_3d(pts, "coco17", "h36m17")
    assert out.shape == (5, 17, 3)
    np.testing.assert_allclose(out[:, 0], (pts[:, 11] + pts[:, 12]) / 2)
    with pytest.raises(PosetoolError, match="no keypoint mapping"):
        map_keypoints(np.zeros((17, 3)), "h36m17", "blazepose33")
    with pytest.raises(PosetoolError, match="has 17"):
        map_keypoints(np.zeros((5, 3)), "coco17", "posetrack18")
