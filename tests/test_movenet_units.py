"""Small, data-free checks of the MoveNet pieces: decoding on hand-made heads, the keypoint ROI,
the converter's run-time padding and resize, input sizes and the sparse-label metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posetool.detect.movenet import input_size_for, rows_to_people
from posetool.detect.roi import BODY_RADIUS, HIP_SHIFT, ROI_SCALE, keypoints_roi
from posetool.eval.labelled import LabelledFrames, box_scores, pose_coverage
from posetool.nn.movenet_decode import MoveNetHeads, decode_people
from posetool.nn.tflite import ops


def _heads(h: int = 24, w: int = 32, people=((10, 12, 8.0, 6.0),)) -> MoveNetHeads:
    """Heads with one clean person per (row, col, height, width): a centre peak, a box, and all
    17 keypoints regressed 2 cells above the centre where the heatmap also peaks."""
    center = torch.full((1, h, w, 1), 0.01)
    heat = torch.full((1, h, w, 17), 0.001)
    regress = torch.zeros(1, h, w, 34)
    scale = torch.zeros(1, h, w, 2)
    for r, c, bh, bw in people:
        center[0, r, c, 0] = 0.9
        heat[0, r - 2, c, :] = 0.8
        regress[0, r, c, 0::2] = -2.0
        scale[0, r, c] = torch.tensor([bh, bw])
    offset = torch.full((1, h, w, 34), 0.25)
    return MoveNetHeads(center, heat, regress, offset, scale, torch.zeros(1, h, w, 2))


def test_decoding_finds_the_person_where_the_heads_put_it():
    rows = decode_people(_heads(), max_people=3)[0].numpy()
    assert rows.shape == (3, 56)
    kps = rows[0, :51].reshape(17, 3)
    np.testing.assert_allclose(kps[:, 0], (8 + 0.25) / 24, atol=1e-6)  # row 8 + offset, / H
    np.testing.assert_allclose(kps[:, 1], (12 + 0.25) / 32, atol=1e-6)
    np.testing.assert_allclose(kps[:, 2], 0.8, atol=1e-6)  # the weight is 1 at the regressed cell
    np.testing.assert_allclose(rows[0, 51:55], [6 / 24, 9 / 32, 14 / 24, 15 / 32], atol=1e-6)
    np.testing.assert_allclose(rows[0, 55], 0.9 * 0.8, atol=1e-6)
    assert rows[1, 55] < 0.01  # the other peaks are background


def test_centre_nms_and_max_people():
    heads = _heads(people=((10, 12, 8.0, 6.0), (10, 14, 8.0, 6.0), (10, 24, 8.0, 6.0)))
    heads.center[0, 10, 14, 0] = 0.85  # 2 cells from a stronger peak: suppressed by the 5x5 max-pool
    rows = decode_people(heads, max_people=2)[0].numpy()
    assert rows.shape == (2, 56)
    centres_x = (rows[:, 52] + rows[:, 54]) / 2 * 32
    np.testing.assert_allclose(sorted(centres_x), [12, 24], atol=1e-5)
    assert decode_people(heads, max_people=9).shape == (1, 9, 56)
    with pytest.raises(ValueError):
        decode_people(heads, max_people=0)


def test_rows_to_pixels():
    rows = decode_people(_heads(), max_people=1)[0].numpy()
    people = rows_to_people(rows, width=640, height=480)
    np.testing.assert_allclose(people.keypoints[0, 0, :2], [(12.25 / 32) * 640, (8.25 / 24) * 480], atol=1e-3)
    np.testing.assert_allclose(people.boxes[0], [9 / 32 * 640, 6 / 24 * 480, 15 / 32 * 640, 14 / 24 * 480], atol=1e-3)


def _coco(hips_y: float = 200.0, shoulders_y: float = 140.0, dx: float = 0.0) -> np.ndarray:
    kps = np.zeros((17, 3))
    kps[[11, 12], :2] = [[100, hips_y], [120, hips_y]]
    kps[[5, 6], :2] = [[100 + dx, shoulders_y], [120 + dx, shoulders_y]]
    kps[[5, 6, 11, 12], 2] = 0.9
    return kps


def test_keypoint_roi_of_an_upright_person():
    roi = keypoints_roi(_coco())
    torso = 60.0
    assert roi.rotation == pytest.approx(0.0, abs=1e-9)
    assert (roi.cx, roi.cy) == pytest.approx((110.0, 200.0 - HIP_SHIFT * torso))
    assert roi.width == roi.height == pytest.approx(2 * BODY_RADIUS * torso * ROI_SCALE)


def test_keypoint_roi_follows_the_torso_and_needs_one():
    lying = _coco(hips_y=200, shoulders_y=200, dx=60)  # shoulders to the right of the hips
    assert keypoints_roi(lying).rotation == pytest.approx(math.pi / 2)
    no_shoulders = _coco()
    no_shoulders[[5, 6], 2] = 0.05
    assert keypoints_roi(no_shoulders) is None


@pytest.mark.parametrize("size", [7, 8, 31, 32])
@pytest.mark.parametrize("stride", [1, 2])
def test_run_time_same_padding_equals_explicit_padding(size, stride):
    torch.manual_seed(0)
    weight, bias = torch.randn(4, 1, 3, 3), torch.randn(4)
    x = torch.randn(2, 4, size, size + 2)
    conv = ops.Conv(weight, bias, (stride, stride), (1, 1), None, 4, "RELU6")
    top, bottom = ops.same_padding(size, 3, stride, 1)
    left, right = ops.same_padding(size + 2, 3, stride, 1)
    ref = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride, 0, 1, 4).clamp(0, 6)
    with torch.inference_mode():
        np.testing.assert_allclose(conv(x).numpy(), ref.numpy(), atol=1e-5)


def test_padding_plan():
    assert ops.padding_plan(1, 1, 1) == (1, 0)
    assert ops.padding_plan(0, 1, 1) == (1, 1)
    assert ops.padding_plan(0, 1, 2) is None
    assert ops.padding_plan(0, 2, 1) is None


def test_resize_by_run_time_factor():
    x = torch.randn(1, 3, 5, 7)
    up = ops.ResizeBilinear(None, (1, 1), False, True, factor=(2, 2))(x)
    assert up.shape == (1, 3, 10, 14)
    np.testing.assert_allclose(up.numpy(), F.interpolate(x, size=(10, 14), mode="bilinear", align_corners=False).numpy())


def test_input_size_keeps_the_aspect_ratio_in_steps_of_32():
    assert input_size_for(576, 768, 512) == (384, 512)
    assert input_size_for(1920, 1088, 512) == (512, 288)
    assert input_size_for(100, 100, 250) == (256, 256)
    with pytest.raises(ValueError):
        input_size_for(100, 100, 16)


def test_sparse_label_metrics(tmp_path):
    gt = tmp_path / "gt.txt"
    # frame 1 (0-based 0): two people and a tiny ignored one; frame 3: one person.
    gt.write_text("1,1,11,11,20,40,1,1,-1\n1,2,101,11,20,40,1,1,-1\n1,3,301,11,5,10,0,1,-1\n3,1,51,51,20,40,1,1,-1\n")
    labels = LabelledFrames.read(str(gt))
    assert labels.frames == [0, 2]
    kps_good = [[0, 0, 0.9]] * 10 + [[0, 0, 0.1]] * 7
    records = [
        {"type": "frame", "frame": 0, "instances": [
            {"bbox": [10, 10, 30, 50], "score": 0.9, "keypoints": kps_good},
            {"bbox": [300, 10, 305, 20], "score": 0.9},            # the ignored person: neither TP nor FP
            {"bbox": [500, 500, 520, 540], "score": 0.9}]},        # a false positive
        {"type": "frame", "frame": 1, "instances": [{"bbox": [0, 0, 10, 10], "score": 0.9}]},  # unlabelled frame
        {"type": "frame", "frame": 2, "instances": [{"bbox": [51, 50, 70, 90], "score": 0.9, "keypoints": kps_good}]},
    ]
    s = box_scores(records, labels)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 1)
    assert box_scores(records, labels, all_people=True)["tp"] == 3
    cover = pose_coverage(records, labels, min_keypoints=8, min_confidence=0.5)
    assert (cover["people"], cover["posed"]) == (3, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windowed_arg_max_equals_the_whole_grid(seed):
    """best_cells looks only inside each box; the answer is the arg-max over every cell."""
    from posetool.nn.movenet_decode import best_cells

    g = torch.Generator().manual_seed(seed)
    b, k, h, w = 2, 7, 12, 16
    heat = torch.rand(b, h, w, 17, generator=g)
    heat[0, :, :, 3] = 0.5  # ties: the first cell in row-major order wins
    y0 = torch.rand(b, k, generator=g) * h
    x0 = torch.rand(b, k, generator=g) * w
    ymin, xmin = y0, x0
    ymax = (y0 + torch.rand(b, k, generator=g) * h).clamp(max=h)
    xmax = (x0 + torch.rand(b, k, generator=g) * w).clamp(max=w)
    ymax[0, 0] = ymin[0, 0]  # an empty box: all zeros, cell 0
    ymin[1, 1], ymax[1, 1], xmin[1, 1], xmax[1, 1] = 0.0, float(h), 0.0, float(w)  # the whole grid
    gy, gx = torch.arange(h).float(), torch.arange(w).float()
    in_y = (gy >= ymin[..., None]) & (gy < ymax[..., None])
    in_x = (gx >= xmin[..., None]) & (gx < xmax[..., None])
    wy = torch.rand(b, k, 17, h, generator=g) * in_y[:, :, None]
    wx = torch.rand(b, k, 17, w, generator=g) * in_x[:, :, None]
    dense = (heat.permute(0, 3, 1, 2)[:, None] * wy[..., :, None]) * wx[..., None, :]
    expected = dense.reshape(b, k, 17, h * w).argmax(-1)
    assert torch.equal(best_cells(heat, wy, wx, ymin, ymax, xmin, xmax, chunk=3), expected)
    assert (best_cells(heat, wy, wx, ymin, ymax, xmin, xmax)[0, 0] == 0).all()
