"""The learned left/right labeller (track --lr-consistency learned) and its training (train leftright)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from posetool.nn.leftright import LeftRightNet
from posetool.skeletons import get_skeleton
from posetool.stream import StreamReader, StreamWriter
from posetool.track.labeller import LearnedLabeller, feature_channels, features, mirror, wrong_labels
from posetool.track.tracker import Tracker, TrackerOptions
from tests.conftest import run_posetool

PAIRS = get_skeleton("coco17").flip_pairs  # (1, 2) eyes … (13, 14) knees, (15, 16) ankles


def _pose(x0: float = 200.0, y0: float = 100.0) -> np.ndarray:
    """(17, 3) a front-facing person 100 px tall: left points (odd) at x0 + 10, right ones (even) at x0 − 10."""
    kps = np.zeros((17, 3))
    kps[:, 0] = x0 + np.where(np.arange(17) % 2 == 1, 10.0, -10.0)
    kps[0, 0] = x0
    kps[:, 1] = y0 + np.linspace(0, 100, 17)
    kps[:, 2] = 0.9
    return kps


def _box(kps: np.ndarray) -> np.ndarray:
    return np.array([kps[:, 0].min() - 5, kps[:, 1].min(), kps[:, 0].max() + 5, kps[:, 1].max()])


def test_features_are_translation_free_and_zero_where_no_pose():
    t = 5
    kps = np.stack([_pose(200 + 3 * f) for f in range(t)])
    boxes = np.stack([_box(k) for k in kps])
    doubts = np.full((t, 8), 0.25)
    kps[2], boxes[2], doubts[2] = np.nan, np.nan, np.nan  # no pose in frame 2
    x = features(kps, boxes, doubts)
    assert x.shape == (feature_channels(17, 8), t) == (98, t)
    assert not x[:, 2].any()  # every channel 0, the presence flag included
    assert x[-1, [0, 1, 3, 4]].tolist() == [1, 1, 1, 1]  # presence
    shifted = features(kps + [500.0, -40.0, 0.0], boxes + [500.0, -40.0, 500.0, -40.0], doubts)
    assert np.allclose(x, shifted, atol=1e-5)
    # body-relative x of keypoint 1 (left eye) in frame 0: (x − box centre) / box height, by hand
    h = boxes[0, 3] - boxes[0, 1]
    assert x[2, 0] == pytest.approx((kps[0, 1, 0] - (boxes[0, 0] + boxes[0, 2]) / 2) / h, abs=1e-6)
    assert x[85 + 3:85 + 11, 0].tolist() == pytest.approx([0.25] * 8)  # doubts after 34 + 34 + 17 + 3 channels


def test_wrong_labels_by_hand_and_unchanged_in_a_mirror():
    gt = _pose()[None, :, :2].repeat(3, axis=0)
    pred = gt.copy()
    pred[1, [15, 16]] = pred[1, [16, 15]]  # frame 1: ankles exchanged
    pred[2, 13] = (gt[2, 13] + gt[2, 14]) / 2 + [0.5, 0.0]  # frame 2: left knee just right of the middle
    inside = np.ones((3, 17), dtype=bool)
    inside[0, 11] = False  # frame 0: left hip outside the image
    heights = np.full(3, 100.0)
    target, weight = wrong_labels(pred, gt, inside, heights, PAIRS)
    ankles, knees, hips = 7, 6, 5
    assert target[1, ankles] == 1.0 and weight[1, ankles] == 1.0  # 40 px of summed distance: clear
    assert target[0].sum() == 0 and weight[0, hips] == 0.0 and weight[0, ankles] == 1.0
    # knee: kept 10.5 + 0, exchanged 9.5 + 20 → kept by 19 px = 1.9 × the 10 px margin: clear, not wrong
    assert target[2, knees] == 0.0 and weight[2, knees] == 1.0
    pred[2, 13] = (gt[2, 13] + gt[2, 14]) / 2 + [0.0, 0.0]
    pred[2, 14] = (gt[2, 13] + gt[2, 14]) / 2
    _, weight = wrong_labels(pred, gt, inside, heights, PAIRS)
    assert weight[2, knees] == pytest.approx(0.0, abs=1e-6)  # both on the middle: no evidence either way
    boxes = np.stack([_box(np.column_stack([p, np.ones(17)])) for p in pred])
    mk, _ = mirror(np.concatenate([pred, np.ones((3, 17, 1))], axis=2), boxes, PAIRS)
    mg, _ = mirror(np.concatenate([gt, np.ones((3, 17, 1))], axis=2), boxes, PAIRS)
    assert np.array_equal(wrong_labels(mk, mg[..., :2], inside[:, [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]],
                                       heights, PAIRS)[0], wrong_labels(pred, gt, inside, heights, PAIRS)[0])
    kps = np.concatenate([pred, np.ones((3, 17, 1))], axis=2)
    back = mirror(*mirror(kps, boxes, PAIRS), PAIRS)  # mirroring twice gives the window back
    assert np.allclose(back[0], kps) and np.allclose(back[1], boxes)


class _Loaded:
    def __init__(self, module: torch.nn.Module) -> None:
        self.module, self.device, self.name = module, torch.device("cpu"), "test-leftright"


def constant_net(logits: dict[int, float]) -> LeftRightNet:
    """A labeller whose logit for pair column j is ``logits.get(j, −10)`` in every frame (all weights zero)."""
    net = LeftRightNet(98, 8, channels=8, dilations=(1,), dropout=0.0)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.head.bias.copy_(torch.tensor([logits.get(j, -10.0) for j in range(8)]))
    return net.eval()


def _run(tracker: Tracker, poses: list[np.ndarray], doubt: list[float] | None = None) -> list[dict]:
    out = []
    for f, kps in enumerate(poses):
        inst = {"bbox": _box(kps).tolist(), "score": 1.0, "keypoints": kps.copy()}
        if doubt is not None:
            inst["lr_doubt"] = list(doubt)
        out += list(tracker.push({"type": "frame", "frame": f, "t": f / 25, "instances": [inst]}))
    return out + list(tracker.flush())


def test_tracker_exchanges_the_groups_the_network_finds_wrong():
    poses = [_pose(200 + 2 * f) for f in range(40)]
    # knees say "wrong" by 3, ankles "right" by 1: the legs' summed logit is +2 → exchanged; arms: −1 + 0.5 < 0
    net = constant_net({6: 3.0, 7: -1.0, 3: -1.0, 4: 0.5})
    opts = TrackerOptions(lr_consistency="learned", smooth="none", reid="none", lr_lookahead=10)
    tracker = Tracker(opts, "coco17", labeller=LearnedLabeller(_Loaded(net)))
    assert tracker.lag == 10
    out = _run(tracker, poses, doubt=[0.1] * 8)
    assert [r["frame"] for r in out] == list(range(40))
    for r in out:
        inst = r["instances"][0]
        got, raw = np.asarray(inst["keypoints"]), poses[r["frame"]]
        assert np.allclose(got[[13, 14, 15, 16]], raw[[14, 13, 16, 15]])  # legs exchanged
        assert np.allclose(np.delete(got, [13, 14, 15, 16], axis=0), np.delete(raw, [13, 14, 15, 16], axis=0))
        assert inst["lr_flipped"] == ["legs"]
        assert inst["lr_doubt"] == [0.1] * 6 + [1.0, 1.0]  # the exchanged pairs' labels are the model's other way round


@pytest.mark.parametrize(("margin", "want"), [(0.0, ["arms", "legs"]), (1.0, ["legs"]), (2.5, None)])
def test_lr_margin_keeps_the_labels_unless_the_network_is_surer(margin: float, want: list[str] | None):
    """``lr_margin``: a group is exchanged only where its summed logit exceeds the margin (legs +2,
    arms +0.5 here)."""
    poses = [_pose(200 + 2 * f) for f in range(30)]
    net = constant_net({6: 3.0, 7: -1.0, 3: 1.0, 4: -0.5})
    opts = TrackerOptions(lr_consistency="learned", smooth="none", reid="none", lr_lookahead=10, lr_margin=margin)
    out = _run(Tracker(opts, "coco17", labeller=LearnedLabeller(_Loaded(net))), poses)
    assert {str(r["instances"][0].get("lr_flipped")) for r in out} == {str(want)}


def test_tracker_reads_labels_as_the_pose_model_gave_them():
    """The network sees raw labels in past frames too: a net that flips wherever the left ankle
    lies right of the right ankle flips every frame of a track whose ankles are crossed throughout,
    although after the first decision the output's ankles are no longer crossed."""
    poses = []
    for f in range(30):
        kps = _pose(200 + 2 * f)
        kps[[15, 16]] = kps[[16, 15]]  # left ankle (15) on the right side: x0 − 10
        poses.append(kps)
    net = LeftRightNet(98, 8, channels=1, dilations=(1,), dropout=0.0)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        # stem: channel = relu(body-relative x of 15 − that of 16) in the frame *before* (tap 0 of the
        # k = 3 kernel); BN (eval) passes it on. Were the past read after the tracker's exchange, the
        # ankles there would not be crossed and no frame after the first would be flipped.
        net.stem[0].weight[0, 2 * 15, 0] = 1.0
        net.stem[0].weight[0, 2 * 16, 0] = -1.0
        net.stem[1].weight.fill_(1.0)
        net.stem[1].running_var.fill_(1.0 - 1e-5)
        net.head.weight[7, 0, 0] = -100.0  # ankles: wrong when the left ankle lies right of the right one
        net.head.bias.copy_(torch.tensor([-10.0] * 6 + [0.0, 1.0]))  # legs = knees (0) + ankles
    net.eval()
    tracker = Tracker(TrackerOptions(lr_consistency="learned", smooth="none", reid="none", lr_lookahead=5), "coco17",
                      labeller=LearnedLabeller(_Loaded(net)))
    out = _run(tracker, poses)
    assert all(r["instances"][0]["lr_flipped"] == ["legs"] for r in out)


def test_motion_puts_back_a_jump_the_network_has_no_view_on():
    """Legs exchanged in frames 10-14 of a walk, a network with no evidence either way (logit 0):
    alone it keeps the model's labels; with --lr-motion the path follows the motion and puts them back."""
    poses = []
    for f in range(40):
        kps = _pose(200 + 2 * f)
        kps[[13, 15], 0] += 15.0  # left knee and ankle well apart from the right ones
        if 10 <= f < 15:
            kps[[13, 14, 15, 16]] = kps[[14, 13, 16, 15]]
        poses.append(kps)
    net = constant_net({6: 0.0, 7: 0.0})
    for motion, exchanged in ((0.0, set()), (1.0, set(range(10, 15)))):
        opts = TrackerOptions(lr_consistency="learned", lr_motion=motion, smooth="none", reid="none", lr_lookahead=10)
        out = _run(Tracker(opts, "coco17", labeller=LearnedLabeller(_Loaded(net))), poses)
        assert {r["frame"] for r in out if "legs" in (r["instances"][0].get("lr_flipped") or [])} == exchanged, motion


def test_learned_needs_its_model_and_coco17():
    from posetool.errors import OptionError

    with pytest.raises(OptionError, match="learned"):
        Tracker(TrackerOptions(lr_consistency="learned", smooth="none", reid="none"), "coco17")
    with pytest.raises(OptionError, match="COCO-17"):
        Tracker(TrackerOptions(lr_consistency="learned", smooth="none", reid="none"), "posetrack18",
                labeller=LearnedLabeller(_Loaded(constant_net({}))))
    with pytest.raises(OptionError, match="lr_motion"):
        TrackerOptions(lr_motion=-1.0)
    with pytest.raises(OptionError, match="lr_margin"):
        TrackerOptions(lr_margin=float("nan"))


def _swapped_folder(folder: Path, frames: int = 60) -> None:
    """A synth ground truth (no pixels) and a pose stream of the same people whose ankles are
    exchanged in every other run of 10 frames, with track ids (what pose2d on GT boxes gives)."""
    res = run_posetool("synth", str(folder), "--people", "2", "--frames", str(frames), "--no-render", "-q", "--seed", "3")
    assert res.returncode == 0, res.stderr
    reader = StreamReader(str(folder / "gt.jsonl"))
    with StreamWriter(str(folder / "pre_gt.msgpack"), "msgpack") as w:
        w.write(dict(reader.header))
        for rec in reader.frames():
            insts = []
            for inst in rec["instances"]:
                kps = np.asarray([[np.nan if v is None else v for v in p] for p in inst["keypoints"]], dtype=float)
                kps[:, 2] = 0.9
                if (rec["frame"] // 10) % 2:
                    kps[[15, 16]] = kps[[16, 15]]
                insts.append({"bbox": inst["bbox"], "score": 1.0, "keypoints": kps.tolist(), "track_id": inst["track_id"],
                              "lr_doubt": [0.2] * 8})
            w.write({**rec, "instances": insts})


def test_train_leftright_cli_writes_weights_that_track_loads(tmp_path: Path):
    _swapped_folder(tmp_path / "clip")
    out = tmp_path / "run"
    res = run_posetool("train", "leftright", str(tmp_path / "clip"), "--val", str(tmp_path / "clip"), "--window", "11",
                       "--stride", "2", "--epochs", "2", "--device", "cpu", "-o", str(out), "-q", timeout=300)
    assert res.returncode == 0, res.stderr
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    # half the ankle judgements are wrong in the stream (the others are right), weighted by clarity
    assert 0.02 < log[0]["val_wrong_raw"] < 0.2 and all(np.isfinite(r["val_wrong"]) for r in log)
    res = run_posetool("train", "leftright", str(tmp_path / "clip"), "--window", "11", "--stride", "2", "--epochs", "3",
                       "--device", "cpu", "-o", str(out), "--resume", str(out / "checkpoint.pt"), "-q", timeout=300)
    assert res.returncode == 0, res.stderr
    assert [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()] == [1, 2, 3]
    trk = tmp_path / "trk.msgpack"
    res = run_posetool("track", str(tmp_path / "clip" / "pre_gt.msgpack"), "--lr-consistency", "learned", "--lr-weights",
                       str(out / "model.safetensors"), "--smooth", "none", "--reid", "none", "-o", str(trk), "-q", timeout=120)
    assert res.returncode == 0, res.stderr
    reader = StreamReader(str(trk))
    assert "model.safetensors" in reader.header["stages"][-1]["model"]
    assert sum(len(r["instances"]) for r in reader.frames()) > 0


def test_lr_weights_needs_learned(tmp_path: Path, stream_file: Path):
    weights = tmp_path / "x.safetensors"
    weights.write_bytes(b"")
    res = run_posetool("track", str(stream_file), "--lr-consistency", "offline", "--lr-weights", str(weights))
    assert res.returncode == 2 and b"--lr-consistency learned" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_auto_is_learned_for_coco17_and_offline_for_other_skeletons(tmp_path: Path):
    """The default ``--lr-consistency auto`` runs the labeller on COCO-17 poses (provenance records
    what ran) and the offline consistency on another skeleton, where ``--lr-weights`` is refused
    with one line rather than left unused."""
    from tests.conftest import sample_records, write_records

    records = sample_records(frames=6)
    coco = write_records(tmp_path / "coco.msgpack", records)
    other = write_records(tmp_path / "posetrack18.msgpack", [{**records[0], "skeleton": "posetrack18"}, *records[1:]])
    ran = {}
    for name, path in (("coco17", coco), ("posetrack18", other)):
        out = tmp_path / f"{name}-trk.msgpack"
        res = run_posetool("track", str(path), "--smooth", "none", "--reid", "none", "-o", str(out), "-q", timeout=120)
        assert res.returncode == 0, res.stderr
        ran[name] = StreamReader(str(out)).header["stages"][-1]["params"]["lr_consistency"]
    assert ran == {"coco17": "learned", "posetrack18": "offline"}
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    res = run_posetool("track", str(other), "--lr-weights", str(weights), "--smooth", "none", "--reid", "none",
                       "-o", str(tmp_path / "x.msgpack"), timeout=120)
    assert res.returncode == 2 and b"COCO-17" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_train_leftright_takes_several_streams_per_folder(tmp_path: Path):
    """``--keypoints a,b`` gives each folder's windows of both streams (a GT-box stream and a
    tracked chain stream of the same video): twice the windows of one when both are the same."""
    from posetool.track.train_leftright import load_windows

    _swapped_folder(tmp_path / "clip", frames=30)
    (tmp_path / "clip" / "chain.msgpack").write_bytes((tmp_path / "clip" / "pre_gt.msgpack").read_bytes())
    one = load_windows([str(tmp_path / "clip")], "pre_gt.msgpack", 11, 2, PAIRS)
    both = load_windows([str(tmp_path / "clip")], "pre_gt.msgpack, chain.msgpack", 11, 2, PAIRS)
    assert len(one.x) > 0 and len(both.x) == 2 * len(one.x)
    assert np.array_equal(both.x[: len(one.x)], one.x, equal_nan=True) and np.array_equal(both.y[len(one.x):], one.y)


def test_windows_by_track_keep_an_identity_switch(tmp_path: Path):
    """``--by-track``: a track that follows one person and then another is one sequence whose ground
    truth changes person at the switch (what the tracker's labeller reads); cut per GT person and
    id it is two sequences, and the switch is never seen."""
    from posetool.track.train_leftright import paired_sequences, track_sequences

    clip = tmp_path / "clip"
    _swapped_folder(clip, frames=40)
    reader = StreamReader(str(clip / "pre_gt.msgpack"))
    records = list(reader.frames())
    ids = sorted({i["track_id"] for r in records for i in r["instances"]})
    assert len(ids) == 2
    with StreamWriter(str(clip / "switch.msgpack"), "msgpack") as w:  # the two ids exchanged from frame 20 on
        w.write(dict(reader.header))
        for r in records:
            if r["frame"] >= 20:
                r = {**r, "instances": [{**i, "track_id": ids[1 - ids.index(i["track_id"])]} for i in r["instances"]]}
            w.write(r)
    gt = {(r["frame"], i["track_id"]): np.asarray([[np.nan if v is None else v for v in p[:2]] for p in i["keypoints"]])
          for r in StreamReader(str(clip / "gt.jsonl")).frames() for i in r["instances"]}
    frames = {r["frame"] for r in records if len(r["instances"]) == 2}
    assert {5, 25} <= frames
    by_track = track_sequences(clip, "switch.msgpack", PAIRS)
    assert len(by_track) == 2 and all(len(s.kps) == 40 for s in by_track)
    first = by_track[0]  # sorted by track id; ids are the GT ids before the switch
    np.testing.assert_allclose(first.gt[5], gt[5, ids[0]])   # before the switch: its own person
    np.testing.assert_allclose(first.gt[25], gt[25, ids[1]])  # after: the other one
    assert len(paired_sequences(clip, "switch.msgpack", PAIRS)) == 4
