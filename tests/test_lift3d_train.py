"""Training the lifter on a tiny dataset: the loss falls, --resume reproduces the next epoch
exactly, semi-supervised training runs, checkpoints load safely, H36M-style world data works."""

from __future__ import annotations

import json

import numpy as np

from posetool.data.videopose3d import write_videopose3d_npz
from posetool.lift3d.data import open_dataset
from posetool.lift3d.h36m import h36m_camera
from posetool.lift3d.camera import world_to_camera
from posetool.skeletons import H36M17
from posetool.engine.trainer import load_checkpoint
from posetool.lift3d.train import Lift3dConfig, train_lift3d
from tests.conftest import run_posetool


def _dataset(path, seed, people=3, frames=90):
    """Skeletons swinging their limbs in front of a pinhole camera; 2D in the h36m17 order."""
    rng = np.random.default_rng(seed)
    w, h, f = 640, 480, 500.0
    p2, p3, cams = {}, {}, {}
    for s in range(people):
        bones = rng.normal(0, 0.12, size=(17, 3))
        t = np.arange(frames)[:, None, None]
        local = bones[None] * (1 + 0.3 * np.sin(0.15 * t + rng.uniform(0, 6, size=(1, 17, 1))))
        pose = np.zeros((frames, 17, 3))
        for j in range(1, 17):
            pose[:, j] = pose[:, H36M17.parents[j]] + local[:, j]
        root = np.stack([0.2 * np.sin(0.05 * np.arange(frames)), np.zeros(frames), 4 + 0.3 * np.cos(0.03 * np.arange(frames))], -1)
        cam3d = pose + root[:, None]
        xy = cam3d[..., :2] / cam3d[..., 2:] * f + [w / 2, h / 2]
        p3[f"P{s}"] = {"act": [cam3d.astype(np.float32)]}
        p2[f"P{s}"] = {"act": [xy.astype(np.float32)]}
        cams[f"P{s}"] = [{"res_w": w, "res_h": h, "focal_length": [f, f], "center": [w / 2, h / 2]}]
    meta = {"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [H36M17.left, H36M17.right], "cameras": cams}
    write_videopose3d_npz(path, positions_3d=p3, positions_2d=p2, metadata=meta)
    return path


def _cfg(tmp_path, out, **kw):
    base = dict(data=[str(tmp_path / "train.npz")], valid=[str(tmp_path / "valid.npz")], out=str(tmp_path / out),
                epochs=4, batch_size=64, architecture="3,3", channels=24, trajectory=True, device="cpu", lr=3e-3)
    base.update(kw)
    return Lift3dConfig(**base)


def test_training_lowers_loss_and_resume_is_exact(tmp_path):
    _dataset(tmp_path / "train.npz", 0)
    _dataset(tmp_path / "valid.npz", 1)
    full = train_lift3d(_cfg(tmp_path, "full"))["history"]
    losses = [h["loss_3d"] for h in full]
    assert losses[-1] < 0.8 * losses[0]
    assert full[-1]["valid"]["mpjpe"] < full[0]["valid"]["mpjpe"]
    assert abs(full[1]["lr"] - 3e-3 * 0.95) < 1e-12
    # resume from epoch 2 of the same run: epochs 3 and 4 are reproduced exactly
    resumed = train_lift3d(_cfg(tmp_path, "resumed", resume=str(tmp_path / "full" / "epoch_2.pt")))["history"]
    assert [h["epoch"] for h in resumed] == [1, 2, 3, 4]
    for a, b in zip(full[2:], resumed[2:]):
        assert a["loss_3d"] == b["loss_3d"] and a["loss_traj"] == b["loss_traj"]
    # checkpoints are plain tensors/values: the safe loader reads them
    ck = load_checkpoint(tmp_path / "full" / "epoch_4.pt", restore_rng=False)
    assert ck["epoch"] == 4 and set(ck) >= {"model_pos", "model_traj", "optimizer", "rng", "generator"}
    lines = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3, 4]


def test_semi_supervised_and_cli(tmp_path):
    _dataset(tmp_path / "train.npz", 2, people=4)
    _dataset(tmp_path / "valid.npz", 3, people=1)
    hist = train_lift3d(_cfg(tmp_path, "semi", epochs=3, subjects_train="P0,P1", subjects_unlabeled="P2,P3", warmup=1))["history"]
    assert "loss_2d_unlabeled" not in hist[0]  # warm-up epoch: supervised only
    assert all(np.isfinite(h["loss_2d_unlabeled"]) for h in hist[1:])
    # the CLI command writes checkpoints and an exported model that lift3d can run
    r = run_posetool("train", "lift3d", str(tmp_path / "train.npz"), "--out", str(tmp_path / "cli"), "--epochs", "1",
                     "--arch", "3", "--channels", "8", "--batch-size", "128", "--device", "cpu", "-q", timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "cli" / "epoch_1.pt").is_file() and (tmp_path / "cli" / "model.safetensors").is_file()
    # the detection-like and depth options reach the generator (h36m 2D: rescaled about the pelvis)
    r = run_posetool("train", "lift3d", str(tmp_path / "train.npz"), "--out", str(tmp_path / "cli2"), "--epochs", "1",
                     "--arch", "3", "--channels", "8", "--batch-size", "128", "--device", "cpu", "--trajectory",
                     "--rescale-2d", "0.5,2", "--noise-2d", "0.02", "--noise-2d-frames", "1.8", "--clamp-2d", "-q", timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    ck = load_checkpoint(tmp_path / "cli2" / "epoch_1.pt", restore_rng=False)
    assert list(ck["config"]["rescale_2d"]) == [0.5, 2.0] and ck["config"]["noise_2d_frames"] == 1.8
    assert "noise_random" in ck["generator"]
    bad = run_posetool("train", "lift3d", str(tmp_path / "train.npz"), "--out", str(tmp_path / "cli3"), "--rescale-2d", "2,1")
    assert bad.returncode == 2 and b"--rescale-2d" in bad.stderr and b"Traceback" not in bad.stderr
    bad = run_posetool("train", "lift3d", str(tmp_path / "train.npz"), "--out", str(tmp_path / "cli3"), "--noise-2d", "0.1,0.2")
    assert bad.returncode == 2 and b"2 values for 17 input joints" in bad.stderr and b"Traceback" not in bad.stderr


def test_h36m_world_coordinates_go_through_camera(tmp_path):
    """A 32-joint world-space 3D file plus a 4-camera 2D file, as the official H36M files."""
    rng = np.random.default_rng(4)
    world = rng.normal(0, 0.3, size=(20, 32, 3)) + [0, 0, 1.0]
    p2 = [rng.uniform(0, 1000, size=(22, 17, 2)).astype(np.float32) for _ in range(4)]  # extra frames
    write_videopose3d_npz(tmp_path / "data_3d_h36m.npz", positions_3d={"S9": {"Walking": world.astype(np.float32)}})
    write_videopose3d_npz(tmp_path / "data_2d_h36m_gt.npz", positions_2d={"S9": {"Walking": p2}},
                          metadata={"num_joints": 17, "keypoints_symmetry": [H36M17.left, H36M17.right]})
    ds = open_dataset([tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz"])
    seqs = ds.sequences()
    assert len(seqs) == 4 and ds.layout is None
    cam = h36m_camera("S9", 2)
    expect = world_to_camera(world[:, [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]], cam["orientation"], cam["translation"])
    expect[:, 1:] -= expect[:, :1]
    assert np.allclose(seqs[2].poses_3d, expect, atol=1e-5)
    assert seqs[2].keypoints.shape == (20, 17, 2)  # cut to the mocap length
    assert np.allclose(seqs[2].keypoints[0, 0] * 500 + [500, cam["res_h"] / 2], p2[2][0, 0], atol=1e-3)


def test_keypoints_option_trains_on_a_pose_stream_instead_of_ground_truth_2d(tmp_path):
    """-k NAME: the folder's stream replaces the ground-truth 2D (person S{n} = track_id n); a
    frame without a pose for a person leaves training, splitting that person's sequence."""
    from posetool.stream import StreamWriter, read_stream

    folder = tmp_path / "syn"
    res = run_posetool("synth", str(folder), "--people", "2", "--frames", "8", "--no-render", "--seed", "5", "-q")
    assert res.returncode == 0, res.stderr
    gt = open_dataset([str(folder)])
    records = read_stream(str(folder / "gt.jsonl"))
    with StreamWriter(str(folder / "pred.jsonl"), "jsonl") as w:
        for rec in records:
            if rec.get("type") == "frame":
                rec = dict(rec)
                rec["instances"] = [{**x, "keypoints": [[p[0] + 3.0, p[1], 0.9] for p in x["keypoints"]]}
                                    for x in rec["instances"] if x.get("keypoints")
                                    and not (x["track_id"] == 1 and rec["frame"] in (3, 4))]
            w.write(rec)
    det = open_dataset([str(folder)], keypoints="pred.jsonl")
    s1 = [s for s in det.sequences() if s.subject == "S1"]
    assert [len(s.keypoints) for s in s1] == [3, 3]  # frames 0-2 and 5-7 of eight
    full = [s for s in gt.sequences() if s.subject == "S1"]
    assert len(full) == 1 and len(full[0].keypoints) == 8
    # shifted 3 px right, in the lifter's normalised screen units (2 / width per pixel)
    shift = det.positions_2d["S1"]["synth"][0][0] - gt.positions_2d["S1"]["synth"][0][0]
    np.testing.assert_allclose(shift[:, 0], 3.0, atol=1e-3)
    np.testing.assert_allclose(s1[0].keypoints[0, :, 0] - full[0].keypoints[0, :, 0], 3.0 * 2 / 640, atol=1e-5)
    bad = run_posetool("train", "lift3d", str(folder), "-k", "missing.msgpack", "--epochs", "1", "-o", str(tmp_path / "r"))
    assert bad.returncode != 0 and b"missing.msgpack" in bad.stderr and b"Traceback" not in bad.stderr


def _walker(frames=60, joints=17):
    """One person 0.5 units tall (normalised screen units) drifting right: (T, J, 2)."""
    t = np.arange(frames, dtype=np.float32)[:, None]
    ys = np.linspace(-0.25, 0.25, joints, dtype=np.float32)[None, :]
    return np.stack([0.01 * t + 0 * ys, ys + 0 * t], axis=-1).astype(np.float32)


def test_detection_noise_scatter_and_outlier_runs_have_the_stated_sizes():
    from posetool.lift3d.windows import DetectionNoise

    clean = np.repeat(_walker()[None], 400, axis=0)  # (B, W, J, 2), person height 0.5
    rng = np.random.RandomState(0)
    scattered = clean.copy()
    DetectionNoise(scatter=0.04).apply(scattered, rng)
    d = scattered - clean
    assert abs(d.std() - 0.04 * 0.5) < 0.002 and abs(d.mean()) < 0.002
    shifted = clean.copy()
    DetectionNoise(outlier_rate=0.2).apply(shifted, rng)
    moved = np.linalg.norm(shifted - clean, axis=-1)  # (B, W, J)
    hit = moved > 1e-6
    # about one chunk-joint in five carries a run; offsets are 0.1-0.5 heights and constant along it
    assert 0.15 < hit.any(axis=1).mean() < 0.25
    assert moved[hit].min() >= 0.1 * 0.5 - 1e-5 and moved[hit].max() <= 0.5 * 0.5 + 1e-5
    for b, j in zip(*np.nonzero(hit.any(axis=1))[:2]):
        frames = np.flatnonzero(hit[b, :, j])
        assert (np.diff(frames) == 1).all()  # one contiguous run
        assert np.allclose(shifted[b, frames, j] - clean[b, frames, j], shifted[b, frames[0], j] - clean[b, frames[0], j], atol=1e-6)


def test_detection_noise_scatter_frames_correlates_the_scatter_in_time_at_the_same_size():
    from posetool.lift3d.windows import DetectionNoise

    clean = np.repeat(_walker()[None], 300, axis=0)  # (B, W, J, 2), person height 0.5
    lag_corr = {}
    for frames in (0.0, 1.8):
        noisy = clean.copy()
        DetectionNoise(scatter=0.04, scatter_frames=frames).apply(noisy, np.random.RandomState(1))
        d = (noisy - clean).astype(np.float64)
        assert abs(d.std() - 0.04 * 0.5) < 0.001  # the per-frame size does not depend on the correlation
        lag_corr[frames] = [float((d[:, k:] * d[:, :-k]).mean() / d.var()) for k in (1, 3, 8)]
    assert all(abs(c) < 0.02 for c in lag_corr[0.0])  # independent frames
    # a Gaussian kernel of sigma s correlates lag k by exp(-k^2 / 4 s^2): 0.93, 0.50, 0.00
    np.testing.assert_allclose(lag_corr[1.8], [np.exp(-k * k / (4 * 1.8**2)) for k in (1, 3, 8)], atol=0.03)


def test_detection_noise_scatter_per_joint():
    from posetool.lift3d.windows import DetectionNoise

    clean = np.repeat(_walker()[None], 300, axis=0)  # (B, W, J, 2), person height 0.5, 17 joints
    sizes = tuple(0.01 * (1 + j % 4) for j in range(17))
    noisy = clean.copy()
    DetectionNoise(scatter=sizes).apply(noisy, np.random.RandomState(2))
    std = (noisy - clean).std(axis=(0, 1, 3))  # per joint
    np.testing.assert_allclose(std, np.array(sizes) * 0.5, rtol=0.05)
    assert not DetectionNoise(scatter=(0.0,) * 17).active
    try:
        DetectionNoise(scatter=(0.01, 0.02)).apply(clean.copy(), np.random.RandomState(0))
    except ValueError as e:
        assert "17 joints" in str(e)
    else:
        raise AssertionError("two scatter values for 17 joints were accepted")


def test_detection_noise_is_off_by_default_and_resumes_exactly():
    from posetool.lift3d.windows import ChunkedBatches, DetectionNoise

    seqs = [_walker(50), _walker(70)]
    kw = dict(chunk_length=4, pad=3, augment=True, kps_left=[1, 3], kps_right=[2, 4])
    plain = [b.inputs_2d for b in ChunkedBatches(5, seqs, **kw).epoch()]
    off = [b.inputs_2d for b in ChunkedBatches(5, seqs, noise=DetectionNoise(), **kw).epoch()]
    assert all(np.array_equal(a, b) for a, b in zip(plain, off))
    noise = DetectionNoise(scatter=0.03, outlier_rate=0.1)
    gen = ChunkedBatches(5, seqs, noise=noise, **kw)
    first = [b.inputs_2d for b in gen.epoch()]
    assert not all(np.array_equal(a, b) for a, b in zip(plain, first))
    state = gen.get_state()
    second = [b.inputs_2d for b in gen.epoch()]
    again = ChunkedBatches(5, seqs, noise=noise, **kw)
    again.set_state(state)
    assert all(np.array_equal(a, b.inputs_2d) for a, b in zip(second, again.epoch()))


def test_detection_noise_clamp_puts_joints_outside_the_frame_on_its_border():
    from posetool.lift3d.windows import ChunkedBatches, DetectionNoise

    seq = _walker(40)
    seq[..., 1] += 0.6  # the lower joints leave a 640x480 frame (y beyond 0.75)
    outside = seq[..., 1] > 0.75
    assert outside.any() and not outside.all()
    gen = ChunkedBatches(100, [seq], chunk_length=8, pad=2, shuffle=False, noise=DetectionNoise(clamp=True), aspects=[0.75])
    x = next(gen.epoch()).inputs_2d
    assert np.isclose(x[..., 1].max(), 0.75) and (x[..., 1] < 0.75 - 1e-6).any()
    unknown = ChunkedBatches(100, [seq], chunk_length=8, pad=2, shuffle=False, noise=DetectionNoise(clamp=True), aspects=[None])
    assert np.isclose(next(unknown.epoch()).inputs_2d[..., 1].max(), seq[..., 1].max())  # frame unknown: nothing clamped


def test_depth_rescale_matches_the_person_seen_at_another_depth():
    """A person moved along the camera rays to 1/s of its depth projects (to weak perspective)
    where DepthRescale puts the 2D, and its trajectory target is the moved one."""
    from posetool.lift3d.windows import ChunkedBatches, DepthRescale, root_joints
    from posetool.skeletons import COCO17

    rng = np.random.default_rng(0)
    frames, f = 12, 1.0  # normalised screen units: focal 1 maps x/z directly
    body = rng.normal(0, 0.25, size=(17, 3))
    body[[11, 12]] = [[0.12, 0, 0], [-0.12, 0, 0]]  # hips either side of the root
    body[..., 2] *= 0.1  # a flat-ish body facing the camera, as weak perspective assumes
    root = np.stack([np.linspace(-1, 1, frames), np.full(frames, 0.3), np.full(frames, 12.0)], -1)  # (T, 3)

    def project(cam):  # (T, J, 3) -> (T, J, 2)
        return (f * cam[..., :2] / cam[..., 2:]).astype(np.float32)

    cam3d = root[:, None] + body[None]
    poses_3d = np.concatenate([root[:, None], body[None, 1:].repeat(frames, 0)], axis=1).astype(np.float32)
    gen = ChunkedBatches(100, [project(cam3d)], [poses_3d], chunk_length=frames, shuffle=False,
                         rescale=DepthRescale(0.5, 2.0, root=tuple(root_joints("coco17"))))
    batch = next(gen.epoch())
    s = float(root[0, 2] / batch.poses_3d[0, 0, 0, 2])  # the factor drawn for this chunk
    assert 0.5 <= s <= 2.0 and abs(s - 1) > 0.05
    np.testing.assert_allclose(batch.poses_3d[0, :, 0], root / s, rtol=1e-5)  # trajectory moved
    np.testing.assert_allclose(batch.poses_3d[0, :, 1:], poses_3d[:, 1:], atol=1e-6)  # pose kept
    moved = project(root[:, None] / s + body[None])
    height = np.ptp(moved[..., 1], axis=1).mean()
    err = np.abs(batch.inputs_2d[0] - moved).max()
    assert err < 0.02 * height, (err, height)  # weak perspective: within 2 % of the body's height
    # the size in the frame follows 1/depth; the 2D root stays where it was
    np.testing.assert_allclose(np.ptp(batch.inputs_2d[0][..., 1], axis=1), s * np.ptp(project(cam3d)[..., 1], axis=1), rtol=1e-4)
    hips = [COCO17.index("left_hip"), COCO17.index("right_hip")]
    np.testing.assert_allclose(batch.inputs_2d[0][:, hips].mean(1), project(cam3d)[:, hips].mean(1), atol=1e-6)


def test_depth_rescale_is_off_by_default_resumes_exactly_and_needs_a_root():
    from posetool.lift3d.windows import ChunkedBatches, DepthRescale, DetectionNoise

    seqs = [_walker(50), _walker(70)]
    kw = dict(chunk_length=4, pad=3, augment=True, kps_left=[1, 3], kps_right=[2, 4])
    plain = [b.inputs_2d for b in ChunkedBatches(5, seqs, **kw).epoch()]
    off = [b.inputs_2d for b in ChunkedBatches(5, seqs, rescale=DepthRescale(root=(0,)), **kw).epoch()]
    assert all(np.array_equal(a, b) for a, b in zip(plain, off))
    both = dict(rescale=DepthRescale(0.7, 1.4, root=(8,)), noise=DetectionNoise(scatter=0.02), **kw)
    gen = ChunkedBatches(5, seqs, **both)
    first = [b.inputs_2d for b in gen.epoch()]
    assert not all(np.array_equal(a, b) for a, b in zip(plain, first))
    state = gen.get_state()
    second = [b.inputs_2d for b in gen.epoch()]
    again = ChunkedBatches(5, seqs, **both)
    again.set_state(state)
    assert all(np.array_equal(a, b.inputs_2d) for a, b in zip(second, again.epoch()))
    try:
        ChunkedBatches(5, seqs, rescale=DepthRescale(0.5, 2.0), **kw)  # no root joints given
    except ValueError as e:
        assert "root" in str(e)
    else:
        raise AssertionError("rescaling without root joints was accepted")
