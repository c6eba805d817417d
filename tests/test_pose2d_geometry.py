"""pose2d geometry: box → centre/scale, affine crops and back-projection, heatmap targets and decoders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posetool.pose2d.crop import (
    affine_points, box_to_center_scale, crop_image, get_affine_transform, heatmap_to_image,
)
from posetool.pose2d.heatmaps import dark_refine, decode_heatmaps, gaussian_targets, get_max_preds, quarter_offset


def three_point_transform(center, scale, rot, size, inv=False):
    """The official construction (three point pairs + cv2.getAffineTransform), for comparison."""
    src_w = scale[0] * 200.0
    r = np.deg2rad(rot)
    v = np.array([0.0, -src_w * 0.5])
    src_dir = np.array([v[0] * np.cos(r) - v[1] * np.sin(r), v[0] * np.sin(r) + v[1] * np.cos(r)])
    dst = np.array([[size[0] * 0.5, size[1] * 0.5], [size[0] * 0.5, size[1] * 0.5 - size[0] * 0.5], [0, 0]])
    src = np.array([center, np.asarray(center) + src_dir, [0, 0]], dtype=np.float64)
    for pts in (src, dst):
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]])
    a, b = (dst, src) if inv else (src, dst)
    return cv2.getAffineTransform(a.astype(np.float32), b.astype(np.float32))


def test_box_to_center_scale_fixes_aspect_and_pads():
    c, s = box_to_center_scale(np.array([[10, 20, 110, 420], [0, 0, 300, 100]]), 0.75)
    np.testing.assert_allclose(c, [[60, 220], [150, 50]])
    # tall box: w grows to 0.75·h; wide box: h grows to w/0.75; then ×1.25 / 200
    np.testing.assert_allclose(s, [[300 / 200 * 1.25, 400 / 200 * 1.25], [300 / 200 * 1.25, 400 / 200 * 1.25]])


@pytest.mark.parametrize("rot", [0.0, 30.0, -75.0, 180.0])
@pytest.mark.parametrize("inv", [False, True])
def test_affine_equals_official_three_point_construction(rot, inv):
    m = get_affine_transform((321.5, 140.25), (1.7, 2.1), rot, (192, 256), inv=inv)
    ref = three_point_transform((321.5, 140.25), (1.7, 2.1), rot, (192, 256), inv=inv)
    np.testing.assert_allclose(m, ref, atol=2e-3)  # the official solve runs in float32


def test_forward_and_inverse_maps_are_exact_inverses():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-500, 1500, size=(50, 2))
    for rot in (0.0, 17.0, -133.0):
        for scale in ((0.3, 0.4), (2.5, 3.3)):
            fwd = get_affine_transform((400, 300), scale, rot, (48, 64))
            inv = get_affine_transform((400, 300), scale, rot, (48, 64), inv=True)
            np.testing.assert_allclose(affine_points(affine_points(pts, fwd), inv), pts, atol=1e-9)


def blob_image(points, shape=(480, 640), sigma=3.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    img = np.zeros(shape)
    for x, y in points:
        img += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return img


@pytest.mark.parametrize("rot, scale", [(0.0, (1.2, 1.6)), (35.0, (0.9, 1.2)), (-120.0, (2.0, 2.6667))])
def test_crop_then_locate_then_back_project_recovers_image_points(rot, scale):
    """A dot drawn in the image, cropped with rotation and scale, found in the crop by its
    centroid and mapped back, lands where it was drawn."""
    center = np.array([330.0, 240.0])
    point = np.array([351.3, 211.7])
    img = blob_image([point]).astype(np.float32)
    crop = crop_image(img, center, np.array(scale), (192, 256), rot)
    ys, xs = np.mgrid[: crop.shape[0], : crop.shape[1]]
    found = np.array([(crop * xs).sum(), (crop * ys).sum()]) / crop.sum()
    back = affine_points(found, get_affine_transform(center, scale, rot, (192, 256), inv=True))
    np.testing.assert_allclose(back, point, atol=0.05)


@pytest.mark.parametrize("rot", [0.0, 40.0, -90.0])
def test_heatmap_decode_back_projection_chain_is_exact(rot):
    """Image keypoints → heatmap coordinates of a rotated, scaled crop → unbiased Gaussian
    heatmaps → DARK decode → back to the image: the original keypoints within 0.1 heatmap px."""
    rng = np.random.default_rng(3)
    center, scale = np.array([410.0, 260.0]), np.array([1.3, 1.7333])
    kps = center + rng.uniform(-60, 60, size=(17, 2))
    to_hm = get_affine_transform(center, scale, rot, (48, 64))
    hm_pts = affine_points(kps, to_hm)
    joints = np.concatenate([hm_pts * 4.0, np.ones((17, 1))], axis=1)  # crop pixels, stride 4
    target, weight = gaussian_targets(joints, (192, 256), (48, 64), sigma=2.0, unbiased=True)
    assert weight.min() == 1
    coords, _ = decode_heatmaps(target[None], "dark")
    back = heatmap_to_image(coords, center[None], scale[None], (48, 64), rotations=np.array([rot]))[0]
    px_per_hm = scale[0] * 200 / 48
    assert np.abs(back - kps).max() < 0.1 * px_per_hm


def random_points(rng, n, w=48, h=64, margin=4):
    return np.stack([rng.uniform(margin, w - 1 - margin, n), rng.uniform(margin, h - 1 - margin, n)], axis=1)


def test_argmax_quarter_offset_decodes_within_0_3_px():
    rng = np.random.default_rng(1)
    pts = random_points(rng, 200)
    joints = np.concatenate([pts * 4, np.ones((200, 1))], axis=1)
    target, _ = gaussian_targets(joints, (192, 256), (48, 64), sigma=2.0, unbiased=True)
    coords, maxvals = decode_heatmaps(target[None], "argmax")
    err = np.linalg.norm(coords[0] - pts, axis=1)
    assert err.max() < 0.3 * np.sqrt(2) and np.abs(coords[0] - pts).max() <= 0.3
    assert maxvals.min() > 0.8
    # and the quarter offset really helps over the plain argmax on average
    plain, _ = decode_heatmaps(target[None], "plain")
    assert np.abs(coords[0] - pts).mean() < np.abs(plain[0] - pts).mean()


def test_dark_decodes_within_0_1_px():
    rng = np.random.default_rng(2)
    pts = random_points(rng, 200, margin=5)
    joints = np.concatenate([pts * 4, np.ones((200, 1))], axis=1)
    for sigma, kernel in ((2.0, 11), (3.0, 17)):
        target, _ = gaussian_targets(joints, (192, 256), (48, 64), sigma=sigma, unbiased=True)
        coords, _ = decode_heatmaps(target[None], "dark", blur_kernel=kernel)
        assert np.abs(coords[0] - pts).max() < 0.1


def test_official_target_is_quantised_windowed_gaussian():
    joints = np.array([[4 * 10.3, 4 * 20.6, 1], [4 * 47.0, 4 * 5.0, 0], [-100.0, 50.0, 1]])
    target, weight = gaussian_targets(joints, (192, 256), (48, 64), sigma=2.0)
    assert weight[:, 0].tolist() == [1, 0, 0]  # invisible → 0; window off the map → 0
    peak = np.unravel_index(target[0].argmax(), target[0].shape)
    assert peak == (21, 10) and target[0].max() == pytest.approx(1.0)
    assert target[0][21, 10 + 7] == 0 and target[0][21, 10 + 6] > 0  # window of 6σ+1
    assert not target[1].any() and not target[2].any()


def test_get_max_preds_zeroes_nonpositive_peaks_and_quarter_offset_direction():
    hm = np.zeros((1, 2, 8, 8))
    hm[0, 0, 3, 4] = 1.0
    hm[0, 0, 3, 5] = 0.5  # right neighbour higher than left → +0.25 in x
    hm[0, 0, 4, 4] = 0.2  # lower neighbour higher than upper → +0.25 in y
    hm[0, 1] = -1.0
    coords, maxvals = get_max_preds(hm)
    assert coords[0, 1].tolist() == [0, 0] and maxvals[0, 1] == -1
    np.testing.assert_allclose(quarter_offset(hm, coords)[0, 0], [4.25, 3.25])


def test_dark_leaves_border_peaks_alone():
    hm = np.zeros((1, 1, 16, 16))
    hm[0, 0, 1, 8] = 1.0
    coords, _ = get_max_preds(hm)
    np.testing.assert_allclose(dark_refine(hm, coords), coords)


def test_local_mean_recovers_sub_cell_positions() -> None:
    from posetool.pose2d.heatmaps import get_max_preds, local_mean

    # Gaussians centred between cells: the centre of mass of the 3×3 window lands within 0.12 cell
    # (the window's cut tails pull it slightly toward the arg-max cell; the arg-max alone is 0.4 off)
    ys, xs = np.mgrid[0:16, 0:20]
    true = np.array([[5.3, 7.6], [12.8, 3.2], [0.4, 15.0]])
    maps = np.stack([np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 0.8 ** 2)) for x, y in true])[None]
    coords, _ = get_max_preds(maps)
    got = local_mean(maps, coords)[0]
    assert np.abs(got[:2] - true[:2]).max() < 0.12
    assert np.abs(coords[0, :2] - true[:2]).max() > 0.35
    assert 14.5 < got[2, 1] <= 15.0 and 0.0 <= got[2, 0] < 0.5  # on the border the window is cut, pulled inward
    # an all-zero window keeps the integer position
    zero = np.zeros((1, 1, 4, 4))
    assert np.array_equal(local_mean(zero, np.array([[[2.0, 1.0]]])), np.array([[[2.0, 1.0]]]))
