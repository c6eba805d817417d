"""pose2d pipeline: flip test, OKS/NMS/rescoring, the batched estimator and the CLI stage."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from posetool.hub.registry import InputSpec
from posetool.nn.simple_baselines import pose_resnet
from posetool.pose2d.flip import flip_back, flip_permutation, flip_test
from posetool.pose2d.oks import keypoint_score, oks_iou, oks_nms, rescore, soft_oks_nms
from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions
from posetool.skeletons import COCO17

PERM = flip_permutation(17, COCO17.flip_pairs)


def tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = pose_resnet(18, width=8, deconv_filters=(16, 16, 16))
    # the official N(0, 0.001) head init gives near-zero maps; make the test maps informative
    for m in model.modules():
        if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Conv2d)):
            torch.nn.init.kaiming_normal_(m.weight)
    return model.eval()


def symmetric_input(h=64, w=48, seed=0):
    rng = np.random.default_rng(seed)
    half = rng.normal(size=(1, 3, h, w // 2)).astype(np.float32)
    return torch.from_numpy(np.concatenate([half, half[..., ::-1]], axis=3).copy())


def test_flip_test_on_symmetric_input_gives_symmetric_output():
    model = tiny_model()
    x = symmetric_input()
    with torch.no_grad():
        out = flip_test(model, x, PERM, shift=False)
        raw = model(x)
    # mirrored and left/right-swapped output equals the output
    scale = raw.abs().max()
    assert scale > 0.1
    torch.testing.assert_close(flip_back(out, PERM) / scale, out / scale, atol=1e-5, rtol=1e-5)
    assert (flip_back(raw, PERM) - raw).abs().max() > 0.01 * scale  # the bare network is not symmetric


def test_flip_shift_moves_flipped_half_one_pixel_right():
    model = tiny_model()
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        plain = model(x)
        mirrored = flip_back(model(x.flip(3)), PERM)
        shifted = flip_test(model, x, PERM, shift=True)
    expect = mirrored.clone()
    expect[..., 1:] = mirrored[..., :-1]
    torch.testing.assert_close(shifted, (plain + expect) / 2, atol=1e-6, rtol=1e-5)


def test_oks_iou_matches_pycocotools():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    g = np.concatenate([rng.uniform(50, 150, (17, 2)), np.full((17, 1), 2.0)], axis=1)
    d = g.copy()
    d[:, :2] += rng.normal(scale=4.0, size=(17, 2))
    area = 5000.0
    gt = COCO()
    gt.dataset = {
        "images": [{"id": 1, "width": 200, "height": 200}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": area,
                         "bbox": [40, 40, 120, 120], "keypoints": g.ravel().tolist(), "num_keypoints": 17}],
    }
    gt.createIndex()
    dt = gt.loadRes([{"image_id": 1, "category_id": 1, "keypoints": d.ravel().tolist(), "score": 1.0}])
    ev = COCOeval(gt, dt, "keypoints")
    ev._prepare()
    ref = ev.computeOks(1, 1)[0, 0]
    # pycocotools uses the GT area; with equal areas OKS-NMS's mean area is the same
    assert oks_iou(g, d[None], area, np.array([area]))[0] == pytest.approx(ref, rel=1e-9)


def test_oks_nms_and_soft_nms():
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.uniform(0, 100, (17, 2)), np.ones((17, 1))], axis=1)
    b = a.copy()
    b[:, :2] += 0.5  # a near duplicate
    c = a.copy()
    c[:, :2] += 300  # somebody else
    kpts, scores, areas = np.stack([a, b, c]), np.array([0.7, 0.9, 0.5]), np.full(3, 10000.0)
    assert oks_nms(kpts, scores, areas, 0.9) == [1, 2]
    assert oks_nms(kpts, scores, areas, 1.0) == [1, 0, 2]
    soft = soft_oks_nms(kpts, scores, areas, 0.9)
    assert soft[0] == 1 and sorted(soft) == [0, 1, 2] and soft.index(2) < soft.index(0)


def test_rescore_is_box_score_times_mean_confident_keypoints():
    mv = np.array([[0.1, 0.5, 0.9], [0.1, 0.2, 0.05]])
    np.testing.assert_allclose(keypoint_score(mv), [0.7, 0.0])
    np.testing.assert_allclose(rescore(np.array([0.8, 0.9]), mv), [0.56, 0.0])


def make_estimator(batch_size=4, **opts):
    return TopDownEstimator(tiny_model(), InputSpec(48, 64), COCO17, "cpu", TopDownOptions(**opts), batch_size)


def test_estimator_batches_across_frames_like_one_by_one():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(5)]
    boxes = [np.array([[10, 10, 60, 100], [70, 5, 150, 115]][: 1 + i % 2], dtype=float) for i in range(5)]
    est = make_estimator(batch_size=3, oks_thre=1.0)
    together = [r for _, r in est.estimate_many((i, im, b, None) for i, (im, b) in enumerate(zip(images, boxes)))]
    alone = [est.estimate(im, b) for im, b in zip(images, boxes)]
    assert len(together) == 5
    for t, a in zip(together, alone):
        assert t.keypoints.shape == (len(a.indices), 17, 3)
        np.testing.assert_allclose(t.keypoints, a.keypoints, atol=1e-4)
    # keypoints lie inside the padded crop of their box
    kp = together[1].keypoints
    assert (kp[1, :, 0] > 40).all() and (kp[1, :, 0] < 180).all()


def test_estimator_oks_nms_removes_duplicate_boxes_and_min_score_filters():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    boxes = np.array([[20, 10, 80, 110], [20, 10, 80, 110], [90, 10, 150, 110]], dtype=float)
    res = make_estimator().estimate(image, boxes, np.array([0.9, 0.8, 0.7]))
    assert 1 not in res.keep and 0 in res.keep and 2 in res.keep
    res = make_estimator(min_box_score=0.75).estimate(image, boxes, np.array([0.9, 0.8, 0.7]))
    assert res.indices.tolist() == [0, 1]


def write_video(path, frames=6, size=(160, 120)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    from safetensors.torch import save_file

    from posetool.hub.registry import get_model_spec

    torch.manual_seed(0)
    model = get_model_spec("simplebaseline_r18_synth").build()
    path = tmp_path_factory.mktemp("w") / "r18.safetensors"
    save_file({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, str(path))
    return path


def test_cli_pose2d_adds_keypoints_to_a_detection_stream(tmp_path, weights_file):
    video = tmp_path / "v.avi"
    write_video(video)
    header = {"type": "header", "format": "posetool.stream", "version": 1, "skeleton": None, "stages": [],
              "source": {"path": str(video), "width": 160, "height": 120, "fps": 10.0, "frames": 6}}
    lines = [header]
    for f in range(6):
        insts = [{"bbox": [10.0, 10.0, 70.0, 110.0], "score": 0.9}, {"track_id": 3}]
        if f % 2:
            insts.append({"bbox": [80.0, 5.0, 150.0, 115.0], "score": 0.6})
        lines.append({"type": "frame", "frame": f, "t": f / 10, "instances": insts})
    lines.append({"type": "end", "frames": 6, "instances": 9, "finished": True})
    det = tmp_path / "det.jsonl"
    det.write_text("".join(json.dumps(r) + "\n" for r in lines))
    out = tmp_path / "pose.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "posetool", "pose2d", str(det), "-o", str(out), "--weights", str(weights_file),
         "--device", "cpu", "--batch-size", "2", "--oks-nms", "1.0", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert recs[0]["skeleton"] == "coco17" and recs[0]["stages"][-1]["stage"] == "pose2d"
    assert recs[0]["stages"][-1]["params"]["flip_test"] is True
    frames = [r for r in recs if r["type"] == "frame"]
    assert [f["frame"] for f in frames] == list(range(6))
    for f in frames:
        boxed = [i for i in f["instances"] if "bbox" in i]
        assert len(boxed) == 1 + f["frame"] % 2
        assert all(len(i["keypoints"]) == 17 and i["box_score"] in (0.9, 0.6) for i in boxed)
        assert {"track_id": 3} in f["instances"]  # instances without a box pass through
    assert recs[-1]["type"] == "end" and recs[-1]["finished"] is True


def test_cli_pose2d_video_too_short_is_one_line_error(tmp_path, weights_file):
    video = tmp_path / "v.avi"
    write_video(video, frames=2)
    recs = [{"type": "header", "format": "posetool.stream", "version": 1, "stages": [],
             "source": {"path": str(video), "width": 160, "height": 120}},
            {"type": "frame", "frame": 0, "t": 0.0, "instances": [{"bbox": [1, 1, 50, 50]}]},
            {"type": "frame", "frame": 5, "t": 0.5, "instances": [{"bbox": [1, 1, 50, 50]}]},
            {"type": "end", "frames": 2, "instances": 2, "finished": True}]
    det = tmp_path / "det.jsonl"
    det.write_text("".join(json.dumps(r) + "\n" for r in recs))
    proc = subprocess.run(
        [sys.executable, "-m", "posetool", "pose2d", str(det), "--weights", str(weights_file), "--device", "cpu",
         "--format", "jsonl"], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "video ended" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_decoding_defaults_to_the_models_measured_one():
    """The shipped synth models decode with DARK (kernel 5, chosen on validation seeds); a model whose
    spec names none (the official checkpoints) and an estimator built without a model use the
    official argmax + quarter offset; an explicit --decode wins."""
    from dataclasses import replace
    from types import SimpleNamespace

    from posetool.hub.registry import get_model_spec

    net = pose_resnet(depth=18, width=8, deconv_filters=(16, 16, 16), num_joints=17)
    synth = get_model_spec("simplebaseline_r18_synth_ft")
    loaded = SimpleNamespace(spec=synth, module=net, device="cpu")
    est = TopDownEstimator.from_loaded(loaded)
    assert (est.options.decode, est.options.blur_kernel) == ("dark", 5)
    assert TopDownEstimator.from_loaded(loaded, TopDownOptions(decode="argmax")).options.decode == "argmax"
    assert TopDownEstimator.from_loaded(loaded, TopDownOptions(blur_kernel=7)).options.blur_kernel == 7
    official = SimpleNamespace(spec=replace(synth, defaults={}), module=net, device="cpu")
    assert TopDownEstimator.from_loaded(official).options.decode == "argmax"
    assert TopDownEstimator(net, synth.input, COCO17).options.decode == "argmax"
    with pytest.raises(Exception, match="decode"):
        TopDownOptions(decode="soft")
