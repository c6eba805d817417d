"""SmoothNet, the learned track smoother (track --smooth smoothnet) and its training (train smooth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from posetool.nn.smoothnet import SmoothNet
from posetool.stream import StreamReader, StreamWriter
from posetool.track.learned import LearnedSmoother, denormalise, normalise, window_scale
from posetool.track.train import export_smoothnet, smooth_loss
from posetool.track.tracker import Tracker, TrackerOptions
from tests.conftest import run_posetool


def linear_smoothnet(matrix: np.ndarray) -> SmoothNet:
    """A SmoothNet whose output window is exactly ``matrix`` @ input window (T × T), built by hand.

    Encoder rows hold +I and −I (hidden 2T); LeakyReLU(0.1) then gives a and b with
    a − b = 1.1 x for either sign of x, so the decoder (A, −A) / 1.1 returns A x. The residual
    blocks add zero (their second linear layers are zero).
    """
    t = matrix.shape[0]
    net = SmoothNet(window=t, hidden=2 * t, res_hidden=4, blocks=1, dropout=0.0)
    with torch.no_grad():
        eye = torch.eye(t, dtype=torch.float32)
        net.encoder[0].weight.copy_(torch.cat([eye, -eye]))
        net.encoder[0].bias.zero_()
        for block in net.res_blocks:
            block.linear2.weight.zero_()
            block.linear2.bias.zero_()
        a = torch.as_tensor(matrix, dtype=torch.float32)
        net.decoder.weight.copy_(torch.cat([a, -a], dim=1) / 1.1)
        net.decoder.bias.zero_()
    return net.eval()


class Loaded:
    """Stands for a LoadedModel: what LearnedSmoother reads."""

    def __init__(self, module: SmoothNet) -> None:
        self.module, self.device, self.name = module, torch.device("cpu"), "test-smoothnet"


def test_linear_smoothnet_is_its_matrix_and_sequence_averages_windows():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    net = linear_smoothnet(a)
    x = rng.normal(size=(3, 5))
    assert np.allclose(net(torch.as_tensor(x, dtype=torch.float32)).detach().numpy(), x @ a.T, atol=1e-5)
    # a sequence of 7 frames: windows start at 0, 1, 2; frame 2 lies in all three
    seq = rng.normal(size=(2, 7))
    out = net.sequence(torch.as_tensor(seq, dtype=torch.float32)).detach().numpy()
    by_hand = np.mean([(seq[:, s:s + 5] @ a.T)[:, 2 - s] for s in range(3)], axis=0)
    assert np.allclose(out[:, 2], by_hand, atol=1e-5)
    assert np.allclose(out[:, 0], (seq[:, 0:5] @ a.T)[:, 0], atol=1e-5)  # frame 0: one window


def test_normalise_round_trip_and_scale():
    rng = np.random.default_rng(1)
    xy = rng.uniform(100, 300, size=(8, 17, 2))
    scale = window_scale(xy)
    assert scale == pytest.approx(np.mean([np.ptp(f[:, 1]) for f in xy]))
    x, offset = normalise(xy, scale)
    assert x.shape == (34, 8) and np.allclose(x.mean(axis=1), 0)
    assert np.allclose(denormalise(x, offset, scale, 17), xy)


def _walk(frames: int, rng: np.random.Generator, jitter: float = 2.0) -> np.ndarray:
    """(frames, 17, 3) keypoints of a person 100 px tall walking right at 3 px/frame, with jitter."""
    base = np.stack([np.linspace(0, 40, 17), np.linspace(0, 100, 17)], axis=1) + [200.0, 150.0]
    xy = base[None] + np.arange(frames)[:, None, None] * [3.0, 0.0] + rng.normal(0, jitter, size=(frames, 17, 2))
    return np.concatenate([xy, np.ones((frames, 17, 1))], axis=2)


def test_refine_averages_every_window_of_the_run():
    t = 5
    mean = np.full((t, t), 1.0 / t)  # every output frame = the window's mean
    smoother = LearnedSmoother(Loaded(linear_smoothnet(mean)))
    poses = _walk(20, np.random.default_rng(2))
    f = 10
    window = [(g, poses[g]) for g in range(f - t + 1, f + t)]
    got = smoother.refine(7, f, window)
    # the windows starting at f-4 ... f each give their mean; frame f's value is the average of those
    by_hand = np.mean([poses[s:s + t, :, :2].mean(axis=0) for s in range(f - t + 1, f + 1)], axis=0)
    assert np.allclose(got, by_hand, atol=1e-3)
    # a run shorter than the window: nothing to say
    assert smoother.refine(8, 3, [(g, poses[g]) for g in range(0, 4)]) is None
    # frame f + 2 missing: the run is f − 4 … f + 1, whose windows start at f − 4 and f − 3
    gapped = [(g, poses[g]) for g in range(f - t + 1, f + 2)] + [(g, poses[g]) for g in range(f + 3, f + t)]
    only = np.mean([poses[s:s + t, :, :2].mean(axis=0) for s in (f - t + 1, f - t + 2)], axis=0)
    assert np.allclose(LearnedSmoother(Loaded(linear_smoothnet(mean))).refine(9, f, gapped), only, atol=1e-3)


def test_refine_recomputes_a_cached_window_whose_poses_changed():
    t = 5
    smoother = LearnedSmoother(Loaded(linear_smoothnet(np.full((t, t), 1.0 / t))))
    poses = _walk(20, np.random.default_rng(3))
    window = [(g, poses[g].copy()) for g in range(6, 15)]
    first = smoother.refine(1, 10, window)
    window[-1][1][:, :2] += 50.0  # a later relabelling moved frame 14
    second = smoother.refine(1, 10, window)
    assert not np.allclose(first, second)
    assert np.allclose(second - first, np.full((17, 2), 50.0 / t / t), atol=1e-3)  # only the window starting at 10 holds 14


def test_tracker_with_identity_network_returns_raw_keypoints_delayed_by_the_window():
    t = 7
    smoother = LearnedSmoother(Loaded(linear_smoothnet(np.eye(t))))
    opts = TrackerOptions(smooth="smoothnet", lr_consistency="none", reid="none")
    tracker = Tracker(opts, "coco17", smoother)
    assert tracker.lag == t - 1
    poses = _walk(30, np.random.default_rng(4))
    out = []
    for f in range(30):
        rec = {"type": "frame", "frame": f, "t": f / 25, "instances": [{"bbox": [190.0, 140.0, 300.0, 260.0],
                                                                       "score": 1.0, "keypoints": poses[f].copy()}]}
        out += list(tracker.push(rec))
        if f == t - 2:
            assert not out  # nothing leaves before its last window is complete
    out += list(tracker.flush())
    assert [r["frame"] for r in out] == list(range(30))
    for r in out:
        assert np.allclose(np.asarray(r["instances"][0]["keypoints"])[:, :2], poses[r["frame"]][:, :2], atol=1e-3)


def test_tracker_needs_the_network_for_smoothnet():
    from posetool.errors import OptionError

    with pytest.raises(OptionError, match="smoothnet"):
        Tracker(TrackerOptions(smooth="smoothnet", reid="none"), "coco17")


def test_smooth_loss_by_hand():
    y = torch.zeros(1, 1, 4)
    out = torch.tensor([[[0.0, 1.0, 0.0, 0.0]]])
    mask = torch.ones(1, 1, 4, dtype=torch.bool)
    # positions: mean |1| over 4 = 0.25; accelerations of out: (0-2+0, 1-0+0) = (-2, 1) → mean 1.5
    assert float(smooth_loss(out, y, mask, 1.0, 1.0)) == pytest.approx(0.25 + 1.5)
    mask[0, 0, 1] = False  # the masked point drops out of both terms
    assert float(smooth_loss(out, y, mask, 1.0, 1.0)) == pytest.approx(0.0)


def _noisy_track_folder(folder: Path, frames: int = 60) -> None:
    """A synth ground truth (no pixels) and a 'tracked' stream: the same people with jittered keypoints."""
    res = run_posetool("synth", str(folder), "--people", "2", "--frames", str(frames), "--no-render", "-q", "--seed", "3")
    assert res.returncode == 0, res.stderr
    rng = np.random.default_rng(0)
    reader = StreamReader(str(folder / "gt.jsonl"))
    with StreamWriter(str(folder / "trk_raw.msgpack"), "msgpack") as w:
        w.write({k: v for k, v in reader.header.items()})
        for rec in reader.frames():
            insts = []
            for inst in rec["instances"]:
                kps = np.asarray([[np.nan if v is None else v for v in p] for p in inst["keypoints"]], dtype=float)
                kps[:, :2] += rng.normal(0, 2.0, size=(len(kps), 2))
                kps[:, 2] = 0.9
                insts.append({"bbox": inst["bbox"], "score": 1.0, "keypoints": kps.tolist(), "track_id": inst["track_id"]})
            w.write({**rec, "instances": insts})


def test_train_smooth_cli_writes_weights_that_track_loads(tmp_path: Path):
    _noisy_track_folder(tmp_path / "clip")
    out = tmp_path / "run"
    res = run_posetool("train", "smooth", str(tmp_path / "clip"), "--val", str(tmp_path / "clip"), "--window", "8",
                       "--stride", "4", "--epochs", "2", "--batch-size", "64", "--device", "cpu", "-o", str(out), "-q",
                       timeout=300)
    assert res.returncode == 0, res.stderr
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(np.isfinite(r["val_err_px"]) for r in log)
    assert (out / "best.safetensors").exists() and (out / "checkpoint.pt").exists()
    res = run_posetool("train", "smooth", str(tmp_path / "clip"), "--window", "8", "--stride", "4", "--epochs", "3",
                       "--batch-size", "64", "--device", "cpu", "-o", str(out), "--resume", str(out / "checkpoint.pt"),
                       "-q", timeout=300)
    assert res.returncode == 0, res.stderr
    assert [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()] == [1, 2, 3]
    trk = tmp_path / "trk.msgpack"
    res = run_posetool("track", str(tmp_path / "clip" / "trk_raw.msgpack"), "--smooth", "smoothnet", "--smooth-weights",
                       str(out / "model.safetensors"), "--reid", "none", "-o", str(trk), "-q", timeout=120)
    assert res.returncode == 0, res.stderr
    reader = StreamReader(str(trk))
    assert "model.safetensors" in reader.header["stages"][-1]["model"]
    assert sum(len(r["instances"]) for r in reader.frames()) > 0


def test_export_records_the_architecture(tmp_path: Path):
    from posetool.track.train import smoothnet_from_file

    net = SmoothNet(window=8, hidden=16, res_hidden=8, blocks=2)
    path = export_smoothnet(net, tmp_path / "m.safetensors")
    built = smoothnet_from_file(path).module
    assert built.config == net.config


def test_smooth_weights_needs_smoothnet(tmp_path: Path, stream_file: Path):
    res = run_posetool("track", str(stream_file), "--smooth", "offline", "--smooth-weights", str(tmp_path / "x.safetensors"))
    assert res.returncode == 2 and b"--smooth smoothnet" in res.stderr


def test_shipped_model_takes_jitter_out_of_a_synth_track(tmp_path: Path):
    """The shipped smoothnet_synth on ground-truth tracks with 2 px of jitter added: the acceleration
    error falls by more than half and the points move closer to the truth."""
    from posetool.hub.loader import load_model

    _noisy_track_folder(tmp_path / "clip", frames=80)
    smoother = LearnedSmoother(load_model("smoothnet_synth", task="smooth", device="cpu"))
    tracker = Tracker(TrackerOptions(smooth="smoothnet", lr_consistency="none", reid="none"), "coco17", smoother)
    truth = {(r["frame"], i["track_id"]): np.asarray([[np.nan if v is None else v for v in p] for p in i["keypoints"]])[:, :2]
             for r in StreamReader(str(tmp_path / "clip" / "gt.jsonl")).frames() for i in r["instances"]}
    raw, smoothed = {}, {}
    out = []
    for rec in StreamReader(str(tmp_path / "clip" / "trk_raw.msgpack")).frames():
        for i, inst in enumerate(rec["instances"]):
            raw[(rec["frame"], i)] = np.asarray(inst["keypoints"], dtype=float)[:, :2]
            inst["gt"] = inst.pop("track_id")  # the tracker assigns its own ids; keep the truth's
        out += list(tracker.push(rec))
    out += list(tracker.flush())
    for rec in out:
        for i, inst in enumerate(rec["instances"]):
            smoothed[(rec["frame"], i)] = (inst["gt"], np.asarray(inst["keypoints"], dtype=float)[:, :2])

    def errors(points: dict) -> tuple[float, float]:
        pos, acc = [], []
        for (f, i), (gid, p) in points.items():
            g = truth[(f, gid)]
            pos.append(np.nanmean(np.linalg.norm(p - g, axis=1)))
            if all((f + d, i) in points and points[(f + d, i)][0] == gid for d in (-1, 1)):
                a = points[(f + 1, i)][1] - 2 * p + points[(f - 1, i)][1]
                ag = truth[(f + 1, gid)] - 2 * g + truth[(f - 1, gid)]
                acc.append(np.nanmean(np.linalg.norm(a - ag, axis=1)))
        return float(np.mean(pos)), float(np.mean(acc))

    before = errors({k: (smoothed[k][0], raw[k]) for k in smoothed})
    after = errors(smoothed)
    assert after[1] < 0.5 * before[1], (before, after)
    assert after[0] < before[0], (before, after)


def test_max_move_keeps_the_polynomial_where_the_network_moves_a_point_far():
    """A network that returns each window's mean drags a 40 px spike of one keypoint by ~ 35 px: past
    --smooth-max-move × height, so that point gets the local polynomial's value; the others the network's."""
    from posetool.track.offline import smooth_at

    t = 5
    poses = _walk(20, np.random.default_rng(5), jitter=0.0)
    poses[10, 0, :2] += 40.0
    results = {}
    for gate in (0.0, 0.08):
        smoother = LearnedSmoother(Loaded(linear_smoothnet(np.full((t, t), 1.0 / t))))
        tracker = Tracker(TrackerOptions(smooth="smoothnet", smooth_max_move=gate, lr_consistency="none", reid="none"),
                          "coco17", smoother)
        out = []
        for f in range(20):
            out += list(tracker.push({"type": "frame", "frame": f, "t": f / 25, "instances": [
                {"bbox": [190.0, 140.0, 300.0, 260.0], "score": 1.0, "keypoints": poses[f].copy()}]}))
        out += list(tracker.flush())
        results[gate] = np.asarray(out[10]["instances"][0]["keypoints"])[:, :2]
    height = np.ptp(poses[10, :, 1])
    assert np.linalg.norm(results[0.0][0] - poses[10, 0, :2]) > 0.08 * height  # the network drags the spike
    w = TrackerOptions().smooth_window
    frames = np.arange(10 - w, 10 + w + 1)
    poly = smooth_at(poses[frames, :, :2], frames - 10, poses[frames, :, 2], w, 2, 0.2 * height)
    assert np.allclose(results[0.08][0], poly[0], atol=1e-6)
    assert np.allclose(results[0.08][1:], results[0.0][1:], atol=1e-6)
