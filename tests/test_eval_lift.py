"""MPJPE family: hand values, invariances, and VideoPose3D's per-action averaging."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posetool.data.videopose3d import write_videopose3d_npz
from posetool.eval.lift import LiftAccumulator, mean_velocity_error, mpjpe, n_mpjpe, p_mpjpe
from posetool.stream import StreamWriter, make_end, make_frame, make_header
from tests.conftest import run_posetool


def rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))  # a proper rotation


def test_hand_values():
    target = np.zeros((2, 17, 3))
    pred = target.copy()
    pred[..., 0] += 0.03  # 3 cm off everywhere
    assert mpjpe(pred, target) == pytest.approx(0.03)
    pred[1, :, 0] += 0.01  # second frame moves 1 cm more: every velocity is off by 1 cm
    assert mean_velocity_error(pred, target) == pytest.approx(0.01)


def test_invariances():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(5, 17, 3))
    sim = 1.7 * target @ rotation(rng).T + np.array([0.3, -1.0, 4.0])
    assert p_mpjpe(sim, target) == pytest.approx(0.0, abs=1e-9)  # similarity transform undone
    assert n_mpjpe(0.6 * target, target) == pytest.approx(0.0, abs=1e-12)  # scale undone
    assert mpjpe(0.6 * target, target) > 0.1
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    assert p_mpjpe(mirrored, target) > 0.05  # a reflection is not allowed


def test_videopose3d_averaging_and_npz_cli(tmp_path):
    # "Walk 1" (4 frames, 10 mm error) and "Walk" (2 frames, 40 mm) merge into action "Walk":
    # frame-weighted (4·10 + 2·40)/6 = 20 mm. "Sit" (3 frames, 5 mm). Average over actions = 12.5 mm.
    rng = np.random.default_rng(1)

    def seq(n, err_mm):
        g = rng.normal(size=(n, 17, 3)) * 0.3
        g -= g[:, :1]
        p = g.copy()
        p[:, 1:, 2] += err_mm / 1000  # every non-root joint off along z (root stays 0)
        return p, g

    data = {"Walk 1": seq(4, 10.0), "Walk": seq(2, 40.0), "Sit": seq(3, 5.0)}
    acc = LiftAccumulator()
    for action, (p, g) in data.items():
        acc.add(action.split(" ")[0], p, g)
    res = acc.result("action")
    # MPJPE over 17 joints with the root exact: 16/17 of the offset.
    assert res["groups"]["Walk"]["mpjpe"] == pytest.approx((4 * 10 + 2 * 40) / 6 * 16 / 17)
    assert res["groups"]["Sit"]["mpjpe"] == pytest.approx(5 * 16 / 17)
    assert res["average"]["mpjpe"] == pytest.approx(12.5 * 16 / 17)
    # every frame alike: (4·10 + 2·40 + 3·5) / 9 = 15 mm
    assert res["all_frames"]["mpjpe"] == pytest.approx(15 * 16 / 17)
    assert res["groups"]["Walk"]["mpjve"] == pytest.approx(0.0, abs=1e-9)  # a constant offset has no velocity error

    write_videopose3d_npz(tmp_path / "gt.npz", positions_3d={"S9": {a: g for a, (p, g) in data.items()}})
    write_videopose3d_npz(tmp_path / "pred.npz", positions_3d={"S9": {a: p for a, (p, g) in data.items()}})
    out = run_posetool("eval", "lift", str(tmp_path / "pred.npz"), "--gt", str(tmp_path / "gt.npz"), "--json")
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout)["average"]["mpjpe"] == pytest.approx(12.5 * 16 / 17)
    # A prediction with one frame fewer is refused with one line naming the sequence.
    write_videopose3d_npz(tmp_path / "short.npz", positions_3d={"S9": {a: p[:-1] for a, (p, g) in data.items()}})
    bad = run_posetool("eval", "lift", str(tmp_path / "short.npz"), "--gt", str(tmp_path / "gt.npz"))
    assert bad.returncode == 1 and b"S9/" in bad.stderr and len(bad.stderr.decode().strip().splitlines()) == 1


def test_streams_with_tracks(tmp_path):
    rng = np.random.default_rng(2)
    n = 6
    poses = {t: rng.normal(size=(n, 17, 3)) * 0.3 for t in (1, 2)}
    for p in poses.values():
        p -= p[:, :1]

    def write(path, offset, skip_frame=None, ids=(1, 2)):
        with StreamWriter(str(path), "jsonl") as w:
            w.write(make_header({"path": "v.mp4", "frames": n}, "coco17", skeleton_3d="h36m17"))
            for f in range(n):
                insts = []
                for t, tid in zip((1, 2), ids):
                    if f == skip_frame and t == 2:
                        continue
                    k3 = poses[t][f].copy()
                    k3[1:, 0] += offset
                    insts.append({"track_id": tid, "bbox": [100.0 * t, 50.0, 100.0 * t + 60, 250.0], "keypoints_3d": k3.tolist()})
                w.write(make_frame(f, f / 25, insts[::-1]))  # order differs from GT: matching is by box
            w.write(make_end(n, 2 * n))

    write(tmp_path / "gt.jsonl", 0.0)
    write(tmp_path / "pred.jsonl", 0.02, skip_frame=3, ids=(7, 8))
    out = run_posetool("eval", "lift", str(tmp_path / "pred.jsonl"), "--gt", str(tmp_path / "gt.jsonl"), "--json")
    assert out.returncode == 0, out.stderr.decode()
    res = json.loads(out.stdout)
    assert res["unmatched_gt_instances"] == 1
    assert res["groups"]["track 1"]["frames"] == 6 and res["groups"]["track 2"]["frames"] == 5
    assert res["average"]["mpjpe"] == pytest.approx(20 * 16 / 17)
    assert res["average"]["mpjve"] == pytest.approx(0.0, abs=1e-9)
