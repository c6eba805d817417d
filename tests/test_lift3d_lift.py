"""Camera maths, windows, flips, whole-sequence lifting and the ``posetool lift3d`` stage."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from posetool.lift3d.camera import (
    camera_to_world, image_coordinates, intrinsics_vector, normalize_screen_coordinates, project_to_2d,
    project_to_2d_linear, world_to_camera,
)
from posetool.lift3d.flip import flip_points, left_right
from posetool.lift3d.infer import FusedTemporalModel, SequenceLifter
from posetool.lift3d.windows import ChunkedBatches, pad_edge
from posetool.nn.videopose3d import VideoPose3D
from posetool.stream import StreamReader, make_frame, make_header
from posetool.lift3d.train import export_lifter
from tests.conftest import run_posetool, write_records


def test_screen_normalisation_round_trip():
    x = np.random.default_rng(0).uniform(0, 640, size=(10, 17, 2))
    n = normalize_screen_coordinates(x, 640, 480)
    assert np.allclose(n[..., 0].min() >= -1, True) and np.allclose(normalize_screen_coordinates(np.array([[0.0, 0.0]]), 640, 480), [[-1, -0.75]])
    assert np.allclose(image_coordinates(n, 640, 480), x)


def test_world_camera_round_trip_and_projection():
    rng = np.random.default_rng(1)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    t = rng.normal(size=3)
    x = rng.normal(size=(5, 17, 3))
    assert np.allclose(camera_to_world(world_to_camera(x, q, t), q, t), x)
    # without distortion the H36M projection is the pinhole model in normalised units
    w, h, f = 640, 480, 500.0
    cam = torch.from_numpy(intrinsics_vector(w, h, (f, f)))[None].repeat(5, 1)
    pts = torch.from_numpy(rng.uniform([-0.5, -0.5, 3], [0.5, 0.5, 5], size=(5, 17, 3))).float()
    px = pts[..., :2] / pts[..., 2:] * f + torch.tensor([w / 2, h / 2])
    expect = torch.from_numpy(normalize_screen_coordinates(px.numpy(), w, h))
    assert torch.allclose(project_to_2d(pts, cam), expect, atol=1e-5)
    assert torch.allclose(project_to_2d_linear(pts, cam), expect, atol=1e-5)


def _naive_window(seq, start, pad, shift, length):
    lo, hi = start - pad - shift, start + length + pad - shift
    a, b = max(lo, 0), min(hi, len(seq))
    return np.pad(seq[a:b], ((a - lo, hi - b), (0, 0), (0, 0)), mode="edge")


@pytest.mark.parametrize("causal, chunk", [(False, 1), (True, 1), (False, 4)])
def test_chunked_batches_match_official_windows(causal, chunk):
    rng = np.random.default_rng(2)
    p2 = [rng.normal(size=(n, 17, 2)).astype(np.float32) for n in (3, 30)]
    p3 = [rng.normal(size=(n, 17, 3)).astype(np.float32) for n in (3, 30)]
    pad = 4
    shift = pad if causal else 0
    kl, kr = left_right("coco17")
    jl, jr = left_right("h36m17")
    gen = ChunkedBatches(7, p2, p3, chunk_length=chunk, pad=pad, causal_shift=shift, augment=True,
                         kps_left=kl, kps_right=kr, joints_left=jl, joints_right=jr, seed=5)
    seen = 0
    order = np.random.RandomState(5).permutation(len(gen.pairs))
    for b, batch in enumerate(gen.epoch()):
        for i, idx in enumerate(order[b * 7 : (b + 1) * 7]):
            s, start, flip = gen.pairs[idx]
            x = _naive_window(p2[s], start, pad, shift, chunk)
            y = _naive_window(p3[s], start, 0, 0, chunk)
            if flip:
                x, y = flip_points(x, kl, kr), flip_points(y, jl, jr)
            assert np.array_equal(batch.inputs_2d[i], x)
            assert np.array_equal(batch.poses_3d[i], y)
            seen += 1
    assert seen == len(gen.pairs) == 2 * sum((len(p) + chunk - 1) // chunk for p in p2)


def _model(causal=False, traj=True, widths=(3, 3, 3), seed=0, in_skeleton="coco17") -> VideoPose3D:
    torch.manual_seed(seed)
    m = VideoPose3D(in_skeleton=in_skeleton, filter_widths=widths, channels=32, causal=causal, trajectory=traj)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_mean.normal_(0, 0.1)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


def test_fused_inference_equals_model():
    m = _model()
    x = torch.randn(2, 90, 17, 2)
    with torch.no_grad():
        ref = m.model_pos(x)
    assert torch.allclose(FusedTemporalModel(m.model_pos)(x), ref, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("length", [1, 5, 26, 27, 200])
def test_whole_sequence_padding_and_chunks(causal, length):
    m = _model(causal=causal)
    kp = np.random.default_rng(3).normal(size=(length, 17, 2)).astype(np.float32)
    whole = SequenceLifter(m).lift(kp)
    assert whole.pose.shape == (length, 17, 3) and whole.root.shape == (length, 3)
    # the official UnchunkedGenerator: edge padding (pad + shift, pad - shift), one pass
    left, right = m.padding()
    with torch.no_grad():
        ref = m.model_pos(torch.from_numpy(pad_edge(kp, left, right))[None])[0].numpy()
    assert np.allclose(whole.pose, ref, atol=1e-5)
    for chunk in (1, 7):
        part = SequenceLifter(m, chunk=chunk).lift(kp)
        assert np.allclose(part.pose, whole.pose, atol=1e-5)


def test_flip_test_is_mirror_equivariant():
    m = _model()
    kp = np.random.default_rng(4).normal(size=(40, 17, 2)).astype(np.float32)
    lifter = SequenceLifter(m, flip=True)
    a = lifter.lift(kp)
    b = lifter.lift(flip_points(kp, *left_right("coco17")))
    # lifting the mirrored input with TTA gives the mirrored result
    assert np.allclose(flip_points(b.pose, *left_right("h36m17")), a.pose, atol=1e-5)
    assert np.allclose(b.root * [-1, 1, 1], a.root, atol=1e-5)


def test_p_mpjpe_of_similarity_transform_is_zero():
    from posetool.eval.lift import p_mpjpe

    rng = np.random.default_rng(5)
    target = rng.normal(size=(6, 17, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    pred = 1.7 * target @ q + np.array([0.3, -2.0, 5.0])
    assert p_mpjpe(pred, target) < 1e-9


# --- the stage through the real CLI ------------------------------------------------------------
def _stream(path, skeleton="coco17", frames=40, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 500, size=(2, 17, 2))
    recs = [make_header({"path": "v.mp4", "width": 640, "height": 480, "fps": 25, "frames": frames}, skeleton)]
    for f in range(frames):
        insts = []
        for tid in (0, 1):
            if tid == 1 and not (5 <= f < 12 or f >= 15):  # track 1: short piece, a 3-frame gap, rest
                continue
            kps = base[tid] + rng.normal(0, 2, size=(17, 2)) + f
            k = [[float(x), float(y), 0.9] for x, y in kps]
            if f == 20 and tid == 0:
                k[3] = [None, None, 0.0]  # a missing keypoint
            insts.append({"track_id": tid, "keypoints": k, "bbox": [0.0, 0.0, 10.0, 10.0]})
        insts.append({"bbox": [1.0, 1.0, 2.0, 2.0], "score": 0.1})  # no keypoints: passed through
        recs.append(make_frame(f, f / 25, insts))
    recs.append({"type": "end", "frames": frames, "instances": 0, "finished": True})
    return write_records(path, recs)


def test_cli_lifts_every_track(tmp_path):
    m = _model()
    weights = export_lifter(m, tmp_path / "m.safetensors")
    src = _stream(tmp_path / "in.msgpack")
    out = tmp_path / "out.jsonl"
    r = run_posetool("lift3d", str(src), "--weights", str(weights), "--chunk", "8", "--max-gap", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr.decode()
    reader = StreamReader(str(out))
    assert reader.header["skeleton_3d"] == "h36m17"
    assert reader.header["stages"][-1]["stage"] == "lift3d"
    frames = list(reader.frames())
    assert [f["frame"] for f in frames] == list(range(40))
    assert reader.end["finished"] is True
    by_track: dict[int, list] = {0: [], 1: []}
    for f in frames:
        for inst in f["instances"]:
            if "track_id" in inst:
                assert len(inst["keypoints_3d"]) == 17 and len(inst["root_3d"]) == 3
                by_track[inst["track_id"]].append(inst["keypoints_3d"])
            else:
                assert "keypoints_3d" not in inst and inst["score"] == 0.1
    assert len(by_track[0]) == 40 and len(by_track[1]) == 7 + 25
    # track 0 equals whole-sequence lifting with test-time flip (the default)
    kp0 = []
    for f in StreamReader(str(src)).frames():
        k = np.array([[np.nan if v is None else v for v in p[:2]] for p in f["instances"][0]["keypoints"]])
        kp0.append(k)
    kp0 = np.array(kp0)
    kp0[20, 3] = kp0[19, 3]  # the stage fills a missing keypoint from the track's previous frame
    ref = SequenceLifter(m, flip=True).lift(normalize_screen_coordinates(kp0, 640, 480))
    assert np.allclose(np.array(by_track[0]), ref.pose, atol=1e-4)


def test_cli_causal_and_errors(tmp_path):
    causal = export_lifter(_model(causal=True), tmp_path / "c.safetensors")
    plain = export_lifter(_model(), tmp_path / "p.safetensors")
    src = _stream(tmp_path / "in.msgpack", frames=12)
    r = run_posetool("lift3d", str(src), "--weights", str(causal), "--causal", "--no-flip", "--format", "jsonl")
    assert r.returncode == 0, r.stderr.decode()
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert lines[0]["stages"][-1]["params"]["causal"] is True and len(lines) == 14
    r = run_posetool("lift3d", str(src), "--weights", str(plain), "--causal")
    assert r.returncode == 2 and b"causal" in r.stderr
    wrong = _stream(tmp_path / "h36.msgpack", skeleton="h36m17", frames=3)
    r = run_posetool("lift3d", str(wrong), "--weights", str(plain))
    assert r.returncode == 2
    assert b"trained on coco17" in r.stderr and b"Traceback" not in r.stderr
