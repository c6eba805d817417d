"""Detection: box ops, the CenterNet target/decoder round trip, HOG, ground-truth replay, the stage."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posetool.detect.boxes import Detections, box_iou, nms, postprocess
from posetool.detect.centernet import build_targets, centernet_loss, decode, flip_averaged, focal_loss
from posetool.stream import read_stream
from tests.conftest import run_posetool


def test_iou_and_nms_by_hand():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [1, 1, 10, 10]], float)
    iou = box_iou(boxes, boxes)
    assert iou[0, 1] == pytest.approx(50 / 150) and iou[0, 2] == 0 and iou[0, 3] == pytest.approx(81 / 100)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [3, 1, 2]   # 0 is suppressed by 3 (IoU .81), 1 survives (IoU .33/.39)
    assert nms(boxes, scores, 0.3).tolist() == [3, 2]
    d = postprocess(Detections(boxes, scores), score_thr=0.75, nms_thr=None, max_people=2, width=12, height=12)
    np.testing.assert_allclose(d.boxes, [[1, 1, 10, 10], [0, 0, 10, 10]])


def perfect_outputs(boxes: np.ndarray) -> dict[str, torch.Tensor]:
    """CenterNet outputs (80×64 map) that are exactly the training targets of ``boxes``: hm logits, wh, reg."""
    t = build_targets(boxes, 80, 64)
    assert t["mask"].sum() == len(boxes) and t["hm"].max() == 1.0
    hm = torch.logit(torch.from_numpy(t["hm"])[None].clamp(1e-6, 1 - 1e-6))
    wh = torch.zeros(1, 2, 64, 80)
    reg = torch.zeros(1, 2, 64, 80)
    for k in range(len(boxes)):
        y, x = divmod(int(t["ind"][k]), 80)
        wh[0, :, y, x] = torch.from_numpy(t["wh"][k])
        reg[0, :, y, x] = torch.from_numpy(t["reg"][k])
    return {"hm": hm, "wh": wh, "reg": reg}


def test_centernet_decoder_recovers_boxes_drawn_into_a_target_exactly():
    boxes = np.array([[10.25, 12.5, 30.75, 50.0], [40.0, 5.0, 55.5, 20.25], [60.5, 30.0, 70.0, 62.75]])
    got, scores = decode(perfect_outputs(boxes), k=3)
    order = np.argsort(got[0, :, 0].numpy())
    np.testing.assert_allclose(got[0].numpy()[order], boxes, atol=1e-5)
    assert torch.allclose(scores, torch.ones(1, 3), atol=1e-5)


def test_flip_test_averages_the_mirrored_pass_flipped_back():
    boxes = np.array([[10.25, 12.5, 30.75, 50.0], [40.0, 5.0, 55.5, 20.25]])
    perfect = perfect_outputs(boxes)
    hm, wh, reg = perfect["hm"], perfect["wh"], perfect["reg"]
    # the mirrored pass sees the same people mirrored, and its sizes are 20 % larger
    out = {"hm": torch.cat([hm, hm.flip(3)]), "wh": torch.cat([wh, 1.2 * wh.flip(3)]),
           "reg": torch.cat([reg, torch.full_like(reg, 9.0)])}  # the mirrored offsets are not used (official)
    got, scores = decode(flip_averaged(out, 1), k=2, probabilities=True)
    order = np.argsort(got[0, :, 0].numpy())
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = 1.1 * (boxes[:, 2:] - boxes[:, :2]) / 2  # sizes averaged: (1 + 1.2) / 2
    np.testing.assert_allclose(got[0].numpy()[order], np.hstack([centre - half, centre + half]), atol=1e-4)
    assert torch.allclose(scores, torch.ones(1, 2), atol=1e-5)


def test_flip_test_is_recorded_and_refused_where_it_does_not_apply(tmp_path: Path):
    clip = tmp_path / "clip"
    assert run_posetool("synth", str(clip), "--people", "1", "--frames", "2", "-q").returncode == 0
    out = tmp_path / "d.msgpack"
    res = run_posetool("detect", str(clip / "video.mp4"), "--flip-test", "-o", str(out), "-q")
    assert res.returncode == 0, res.stderr.decode()
    header = read_stream(str(out))[0]
    assert header["stages"][0]["params"]["flip_test"] is True
    bad = run_posetool("detect", str(clip / "video.mp4"), "--model", "hog", "--flip-test")
    err = bad.stderr.decode().strip()
    assert bad.returncode == 2 and len(err.splitlines()) == 1 and "--flip-test" in err, err


def test_focal_loss_prefers_the_target():
    t = build_targets(np.array([[10, 10, 30, 40]]), 40, 48)
    target = torch.from_numpy(t["hm"])[None]
    good = torch.logit(target.clamp(1e-4, 1 - 1e-4))
    bad = torch.zeros_like(good) - 2.19
    assert focal_loss(good, target) < 0.5 * focal_loss(bad, target)
    out = {"hm": good, "wh": torch.zeros(1, 2, 48, 40), "reg": torch.zeros(1, 2, 48, 40)}
    tt = {k: torch.from_numpy(v)[None] for k, v in t.items()}
    total, parts = centernet_loss(out, tt)
    assert parts["wh"] > 0 and total > parts["hm"]


def _person_video(path: Path, frames: int = 3) -> None:
    """A dark figure on a light background, big enough for the 64×128 HOG window."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 320))
    for i in range(frames):
        img = np.full((320, 320, 3), 200, np.uint8)
        cx = 140 + 5 * i
        cv2.circle(img, (cx, 70), 18, (40, 40, 40), -1)                           # head
        cv2.rectangle(img, (cx - 22, 90), (cx + 22, 180), (40, 40, 40), -1)       # torso
        cv2.line(img, (cx - 22, 95), (cx - 40, 170), (40, 40, 40), 10)            # arms
        cv2.line(img, (cx + 22, 95), (cx + 40, 170), (40, 40, 40), 10)
        cv2.line(img, (cx - 10, 180), (cx - 18, 270), (40, 40, 40), 14)           # legs
        cv2.line(img, (cx + 10, 180), (cx + 18, 270), (40, 40, 40), 14)
        w.write(img)
    w.release()


def test_gt_backend_reproduces_ground_truth_boxes_exactly(tmp_path: Path):
    video = tmp_path / "v.mp4"
    _person_video(video, frames=3)
    coco = {
        "images": [{"id": i + 1, "file_name": f"{i:06d}.jpg", "width": 320, "height": 320} for i in range(3)],
        "annotations": [
            {"id": 1, "image_id": 1, "bbox": [10.5, 20.25, 50, 100], "track_id": 7, "category_id": 1, "iscrowd": 0},
            {"id": 2, "image_id": 3, "bbox": [100, 20, 30.5, 60], "track_id": 8, "category_id": 1, "iscrowd": 0},
            {"id": 3, "image_id": 3, "bbox": [0, 0, 10, 10], "category_id": 1, "iscrowd": 1},
        ],
        "categories": [{"id": 1, "name": "person"}],
    }
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    mot = "1,7,10.5,20.25,50,100,1,1,1\n3,8,100,20,30.5,60,1,1,1\n3,9,5,5,10,10,0,1,1\n"
    (tmp_path / "gt.txt").write_text(mot)
    for gt in ("gt.json", "gt.txt"):
        out = run_posetool("detect", str(video), "--model", "gt", "--gt", str(tmp_path / gt), "--format", "jsonl", "-q")
        assert out.returncode == 0, out.stderr
        recs = read_stream(__import__("io").BytesIO(out.stdout))
        frames = [r for r in recs if r["type"] == "frame"]
        assert [len(f["instances"]) for f in frames] == [1, 0, 1]
        assert frames[0]["instances"][0] == {"bbox": [10.5, 20.25, 60.5, 120.25], "score": 1.0, "track_id": 7}
        assert frames[2]["instances"][0] == {"bbox": [100.0, 20.0, 130.5, 80.0], "score": 1.0, "track_id": 8}
        assert recs[0]["stages"][0]["stage"] == "detect" and recs[0]["source"]["width"] == 320


def test_hog_finds_a_person_and_stage_options(tmp_path: Path):
    video = tmp_path / "v.mp4"
    _person_video(video, frames=3)
    out = run_posetool("detect", str(video), "--model", "hog", "--every", "2", "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    frames = [r for r in read_stream(__import__("io").BytesIO(out.stdout)) if r["type"] == "frame"]
    assert frames[1].get("skipped") is True and frames[1]["instances"] == []
    for f in (frames[0], frames[2]):
        assert len(f["instances"]) >= 1
        x1, y1, x2, y2 = f["instances"][0]["bbox"]
        assert x1 < 140 < x2 and y1 < 150 < y2  # the box covers the figure's torso
    assert out.stdout.startswith(b"{\"type\":\"header\"")  # stdout holds records only, no progress


def test_detect_errors_are_one_line(tmp_path: Path):
    bad = run_posetool("detect", str(tmp_path / "missing.mp4"))
    assert bad.returncode == 1 and bad.stderr.decode().count("\n") == 1 and b"no such video" in bad.stderr
    video = tmp_path / "v.mp4"
    _person_video(video, frames=1)
    nogt = run_posetool("detect", str(video), "--model", "gt")
    assert nogt.returncode == 1 and b"--gt PATH" in nogt.stderr
    unknown = run_posetool("detect", str(video), "--model", "yolo")
    assert unknown.returncode == 2 and b"unknown detect model 'yolo'" in unknown.stderr


def _tiny_spec():
    from posetool.hub.registry import InputSpec, ModelSpec

    return ModelSpec(name="centernet_tiny_test", task="detect", builder="posetool.nn.centernet:centernet",
                     kwargs={"depth": 18, "width": 8, "deconv_filters": (16, 16, 16), "head_conv": 8},
                     input=InputSpec(128, 96))


def test_tiny_centernet_training_lowers_loss_and_resumes_exactly(tmp_path: Path):
    from posetool.detect.train import DetectTrainConfig, train_detect

    synth = run_posetool("synth", str(tmp_path / "syn"), "--people", "2", "--frames", "6", "--width", "160",
                         "--height", "120", "--seed", "3", "-q")
    assert synth.returncode == 0, synth.stderr
    cfg = dict(data=[str(tmp_path / "syn")], model=_tiny_spec(), batch_size=3, lr=2e-3, device="cpu", seed=1)
    full = train_detect(DetectTrainConfig(out=str(tmp_path / "a"), epochs=4, **cfg))["history"]
    losses = [row["loss"] for row in full]
    assert losses[-1] < losses[0]
    train_detect(DetectTrainConfig(out=str(tmp_path / "b"), epochs=4, stop_after=2, **cfg))
    resumed = train_detect(DetectTrainConfig(out=str(tmp_path / "b"), epochs=4, **cfg),
                           resume=str(tmp_path / "b" / "checkpoint.pth"))["history"]
    assert [r["loss"] for r in resumed] == losses


def test_init_starts_detector_training_from_given_weights(tmp_path: Path):
    """--init FILE at learning rate 0 exports the start weights unchanged (BatchNorm statistics
    still move, so only the parameters are compared); a missing file or unknown name is one error."""
    from safetensors.torch import load_file

    from posetool.detect.train import DetectTrainConfig, train_detect
    from posetool.errors import UsageError

    synth = run_posetool("synth", str(tmp_path / "syn"), "--people", "2", "--frames", "3", "--width", "160",
                         "--height", "120", "--seed", "4", "-q")
    assert synth.returncode == 0, synth.stderr
    cfg = dict(data=[str(tmp_path / "syn")], model=_tiny_spec(), batch_size=3, device="cpu", seed=2, epochs=1)
    train_detect(DetectTrainConfig(out=str(tmp_path / "a"), lr=2e-3, **cfg))
    start = tmp_path / "a" / "model.safetensors"
    train_detect(DetectTrainConfig(out=str(tmp_path / "b"), lr=0.0, init=str(start), **cfg))
    train_detect(DetectTrainConfig(out=str(tmp_path / "c"), lr=0.0, **cfg))
    a, b, c = (load_file(str(tmp_path / d / "model.safetensors")) for d in "abc")
    params = [k for k in a if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert all(torch.equal(a[k], b[k]) for k in params)
    assert not all(torch.equal(a[k], c[k]) for k in params)  # without --init the run starts elsewhere
    for bad in ("missing.safetensors", "no_such_detector"):
        with pytest.raises(UsageError, match="--init|unknown detect model"):
            train_detect(DetectTrainConfig(out=str(tmp_path / "d"), init=bad, **cfg))


def test_detector_training_keeps_the_best_validation_epoch(tmp_path: Path):
    """With --val, best.safetensors holds the epoch of the best box AP (as train pose2d); a resumed
    run remembers that best; without --val there is no best file."""
    from safetensors.torch import load_file

    from posetool.detect.train import DetectTrainConfig, train_detect

    synth = run_posetool("synth", str(tmp_path / "syn"), "--people", "2", "--frames", "6", "--width", "160",
                         "--height", "120", "--seed", "5", "-q")
    assert synth.returncode == 0, synth.stderr
    cfg = dict(data=[str(tmp_path / "syn")], model=_tiny_spec(), batch_size=3, lr=2e-3, device="cpu", seed=1,
               epochs=3)
    history = train_detect(DetectTrainConfig(out=str(tmp_path / "a"), val=[str(tmp_path / "syn")], **cfg))["history"]
    marked = [i for i, r in enumerate(history) if r.get("best")]
    aps = [r["AP"] for r in history]
    assert marked and marked[0] == 0 and aps[marked[-1]] == max(aps)
    assert all(aps[j] > aps[i] for i, j in zip(marked, marked[1:]))
    best = load_file(str(tmp_path / "a" / "best.safetensors"))
    last = load_file(str(tmp_path / "a" / "model.safetensors"))
    assert all(torch.equal(best[k], last[k]) for k in best) == (marked[-1] == len(history) - 1)
    # a resumed run starts from the saved best, so it never overwrites it with a worse epoch
    train_detect(DetectTrainConfig(out=str(tmp_path / "b"), val=[str(tmp_path / "syn")], stop_after=2, **cfg))
    resumed = train_detect(DetectTrainConfig(out=str(tmp_path / "b"), val=[str(tmp_path / "syn")], **cfg),
                           resume=str(tmp_path / "b" / "checkpoint.pth"))["history"]
    assert [r.get("best", False) for r in resumed] == [r.get("best", False) for r in history]
    train_detect(DetectTrainConfig(out=str(tmp_path / "c"), **{**cfg, "epochs": 1}))
    assert not (tmp_path / "c" / "best.safetensors").exists()
