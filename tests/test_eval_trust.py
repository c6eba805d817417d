"""``posetool eval trust``: every measure on constructed streams whose value is known by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from posetool.eval.trust import (
    GAP_BINS,
    LIMB_PAIRS,
    Matched,
    Person,
    TrustOptions,
    acceleration,
    evaluate_trust,
    jitter,
    lift_errors,
    lr_states,
    lr_swaps,
    reentries,
    reentry_summary,
)
from posetool.stream import make_frame, make_header
from tests.conftest import run_posetool, write_records

BOX = np.array([100.0, 100.0, 200.0, 300.0])  # 200 px tall


def body(dx: float = 0.0, swap: tuple[int, ...] = ()) -> np.ndarray:
    """(17, 3) COCO keypoints of a front-facing person (left side at larger x), shifted by ``dx``;
    the limb pairs listed in ``swap`` (indices into LIMB_PAIRS) have their labels exchanged."""
    kp = np.zeros((17, 3))
    kp[:, 2] = 1.0
    kp[:, 1] = np.linspace(110, 290, 17)
    kp[:, 0] = 150 + dx
    for k, (left, right) in enumerate(LIMB_PAIRS):
        kp[left, 0], kp[right, 0] = 150 + dx + 30, 150 + dx - 30  # 60 px apart: every pair is judged
        if k in swap:
            kp[[left, right]] = kp[[right, left]]
    return kp


def p(tid: int | None, kp: np.ndarray | None = None, box: np.ndarray = BOX, kp3d=None, root=None, world=None) -> Person:
    return Person(tid, box, kp, kp3d, root, world)


def matched(seq: dict[int, dict[int, tuple[Person, Person]]], fps: float = 10.0, present=None) -> Matched:
    m = Matched(max(f for fr in seq.values() for f in fr) + 1, fps)
    m.pairs = seq
    m.gt_frames = present or {g: set(fr) for g, fr in seq.items()}
    return m


# --- re-entries -----------------------------------------------------------------------------

def test_reentry_kept_when_the_same_id_returns_and_binned_by_seconds():
    gt = p(1, body())
    seq = {1: {**{f: (gt, p(7)) for f in range(5)}, **{f: (gt, p(7)) for f in range(20, 23)}},
           2: {**{f: (gt, p(8)) for f in range(5)}, **{f: (gt, p(9)) for f in range(40, 42)}}}
    m = matched(seq, fps=10.0, present={1: set(range(5)) | set(range(20, 23)), 2: set(range(42))})
    items = reentries(m, min_gap=10)
    assert [(r.gt_id, r.gap, r.kept, r.out_of_view) for r in items] == [(1, 15, True, True), (2, 35, False, False)]
    s = reentry_summary(items, fps=10.0, min_gap=10)
    by = {b["label"]: (b["count"], b["kept"]) for b in s["bins"]}
    assert by["1–2 s"] == (1, 1)      # 15 frames at 10 fps = 1.5 s
    assert by["2–5 s"] == (1, 0)      # 35 frames = 3.5 s, another id came back
    assert s["share"] == 0.5
    assert reentries(m, min_gap=16) == [items[1]]  # the 15-frame gap is too short to count


def test_reentry_compares_with_the_id_carried_before_leaving():
    gt = p(1, body())
    # id 7 for 8 frames, a switch to 9 in the last 2 frames before leaving, then 7 comes back
    seq = {1: {**{f: (gt, p(7)) for f in range(8)}, **{f: (gt, p(9)) for f in range(8, 10)},
               **{f: (gt, p(7)) for f in range(30, 33)}}}
    (r,) = reentries(matched(seq), min_gap=10)
    assert r.kept and not r.kept_last
    # two gaps: the stretch before the second starts after the first
    seq = {1: {**{f: (gt, p(7)) for f in range(5)}, **{f: (gt, p(8)) for f in range(20, 23)},
               **{f: (gt, p(8)) for f in range(40, 42)}}}
    assert [x.kept for x in reentries(matched(seq), min_gap=10)] == [False, True]


def test_gap_bins_cover_every_length():
    assert GAP_BINS[0][0] == 0 and math.isinf(GAP_BINS[-1][1])
    assert all(a[1] == b[0] for a, b in zip(GAP_BINS, GAP_BINS[1:]))


# --- left/right -----------------------------------------------------------------------------

def test_lr_states_consistent_swapped_and_not_judged():
    gt = body()
    assert (lr_states(body(), gt, BOX, 0.1) == 0).all()
    assert (lr_states(body(swap=(2, 5)), gt, BOX, 0.1) == [0, 0, 1, 0, 0, 1]).all()
    collapsed = body()
    collapsed[9, :2] = collapsed[10, :2] = gt[9, :2]  # both wrists on the left wrist
    assert lr_states(collapsed, gt, BOX, 0.1)[2] == -1
    side_on = body()
    side_on[5, 0], side_on[6, 0] = 150, 155  # GT shoulders 5 px apart < 0.1 × 200 px
    assert lr_states(body(), side_on, BOX, 0.1)[0] == -1
    outside = gt.copy()
    outside[15, 2] = 0  # GT left ankle outside the image
    assert lr_states(body(), outside, BOX, 0.1)[5] == -1


def test_lr_swaps_count_onsets_per_thousand_person_frames():
    gt = body()
    wrist = {0: (), 1: (), 2: (2,), 3: (2,), 4: (), 5: (2,)}  # wrists swap at 2 and again at 5
    seq = {1: {f: (p(1, gt), p(4, body(swap=s))) for f, s in wrist.items()}}
    r = lr_swaps(matched(seq), 0.1)
    assert r["swaps"] == 2 and r["by_limb"]["wrists"] == 2
    assert r["per_1000"] == pytest.approx(1000 * 2 / 6)
    assert r["swapped_share"] == pytest.approx(3 / 36)
    # a frame where the wrists cannot be judged keeps the state before it; a new predicted id starts afresh
    side = gt.copy()
    side[9, 0] = side[10, 0] = 150
    seq = {1: {0: (p(1, gt), p(4, body())), 1: (p(1, side), p(4, body())), 2: (p(1, gt), p(4, body(swap=(2,)))),
               3: (p(1, gt), p(5, body())), 4: (p(1, gt), p(5, body(swap=(2,)))), 6: (p(1, gt), p(5, body(swap=(2,))))}}
    assert lr_swaps(matched(seq), 0.1)["swaps"] == 2  # frames 2 and 4; frame 6 follows an unseen frame


# --- jitter ---------------------------------------------------------------------------------

def test_acceleration_is_the_second_difference():
    x = np.array([0.0, 1.0, 4.0, 9.0, 16.0])  # t²: acceleration 2 everywhere
    assert np.allclose(acceleration(x), 2.0)


def test_jitter_known_values():
    # GT moves 3 px/frame (no acceleration); the prediction adds a 1 px bump in frame 2 (x only).
    seq = {1: {}}
    for f in range(5):
        g = body(dx=3 * f)
        pr = body(dx=3 * f)
        if f == 2:
            pr[:, 0] += 1.0
        seq[1][f] = (p(1, g), p(3, pr))
    j = jitter(matched(seq))
    # triples centred on frames 1, 2, 3: pred accelerations +1, −2, +1 px on every point
    assert j["accel_error_px"] == pytest.approx(4 / 3)
    assert j["accel_gt_px"] == pytest.approx(0.0)
    assert j["points_2d"] == 3 * 17


def test_jitter_ignores_triples_across_an_id_switch():
    seq = {1: {f: (p(1, body(dx=3 * f)), p(3 if f < 3 else 4, body(dx=3 * f + (5 if f >= 3 else 0))))
               for f in range(6)}}
    assert jitter(matched(seq))["accel_error_px"] == pytest.approx(0.0)


# --- 3D -------------------------------------------------------------------------------------

def test_lift_errors_root_and_absolute():
    rel = np.zeros((17, 3))
    rel[:, 1] = np.linspace(0, -0.9, 17)
    g = p(1, body(), kp3d=rel, root=np.array([0.0, 0.0, 4.0]))
    pr = p(2, body(), kp3d=rel + [0.0, 0.0, 0.01], root=np.array([0.1, 0.0, 4.0]))  # 1 cm offset of every joint
    r = lift_errors(matched({1: {0: (g, pr)}}))
    assert r["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)  # the offset vanishes once joint 0 is subtracted
    assert r["root_error_mm"] == pytest.approx(100.0)
    assert r["abs_mpjpe_mm"] == pytest.approx(100.0)


def test_jitter_3d_and_raw_acceleration_known_values():
    # GT joints still; the prediction moves joint 5 by 1 cm along x in frame 2 only (joint 0 stays put)
    rel = np.zeros((17, 3))
    rel[:, 1] = np.linspace(0, -0.9, 17)
    seq: dict[int, dict[int, tuple[Person, Person]]] = {1: {}}
    for f in range(5):
        pr = rel.copy()
        if f == 2:
            pr[5, 0] += 0.01
        seq[1][f] = (p(1, body(), kp3d=rel), p(3, body(dx=2.0 * f * f), kp3d=pr))
    m = matched(seq)
    m.pred_tracks = {3: {f: pair[1] for f, pair in seq[1].items()}}
    j = jitter(m)
    # joint 5's accelerations in the triples centred on 1, 2, 3: +10, −20, +10 mm; 0 for the 16 others
    assert j["accel_error_mm"] == pytest.approx(40 / 51)
    assert j["raw_accel_mm"] == pytest.approx(40 / 51)  # the GT is still, so the same figure
    assert j["raw_accel_px"] == pytest.approx(4.0)  # x = 2 f²: 4 px/frame² on every point, no GT needed
    assert j["accel_error_px"] == pytest.approx(4.0)


def test_world_errors_known_offset():
    from posetool.eval.trust import world_errors
    from posetool.lift3d.world import WorldFrame

    rel = np.zeros((17, 3))
    rel[:, 1] = np.linspace(0, -0.9, 17)
    root = np.array([0.5, 1.2, 5.0])
    world = WorldFrame(1.6, 10.0)
    gw = world.to_world(rel + root)
    m = matched({1: {0: (p(1, body(), kp3d=rel, root=root), p(2, body(), world=gw + [0.0, 0.0, 0.1]))}})
    m.gt_world = world
    r = world_errors(m)
    assert r["frames_world"] == 1
    assert r["root_error_mm"] == pytest.approx(100.0) and r["abs_mpjpe_mm"] == pytest.approx(100.0)


# --- end to end -----------------------------------------------------------------------------

def _stream(path: Path, people_per_frame: list[list[dict]], fps: float = 10.0) -> Path:
    recs = [make_header({"path": None, "width": 640, "height": 480, "fps": fps, "frames": len(people_per_frame)},
                        "coco17")]
    recs += [make_frame(f, f / fps, insts) for f, insts in enumerate(people_per_frame)]
    recs.append({"type": "end", "frames": len(people_per_frame), "instances": 0, "finished": True})
    return write_records(path, recs, "jsonl")


def _inst(tid: int, dx: float, swap: tuple[int, ...] = ()) -> dict:
    return {"track_id": tid, "bbox": (BOX + [dx, 0, dx, 0]).tolist(), "score": 1.0,
            "keypoints": body(dx, swap).tolist()}


def test_eval_trust_cli_json(tmp_path: Path):
    # one person, out of view for frames 5–24 (2 s at 10 fps), back with the same id; knees swap at 27
    frames = [f for f in range(30) if not 5 <= f < 25]
    gt = _stream(tmp_path / "gt.jsonl", [[_inst(1, 2 * f)] if f in frames else [] for f in range(30)])
    pred = _stream(tmp_path / "pred.jsonl",
                   [[_inst(5, 2 * f, swap=(4,) if f >= 27 else ())] if f in frames else [] for f in range(30)])
    proc = run_posetool("eval", "trust", str(pred), "--gt", str(gt), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    r = json.loads(proc.stdout)
    assert r["reentry"]["count"] == 1 and r["reentry"]["kept"] == 1
    assert [b["count"] for b in r["reentry"]["bins"]] == [0, 0, 1, 0]
    assert r["lr"]["swaps"] == 1 and r["lr"]["per_1000"] == pytest.approx(100.0)  # 1 onset in 10 person-frames
    assert r["mot"]["mota"] == pytest.approx(1.0) and r["mot"]["idf1"] == pytest.approx(1.0)
    assert r["jitter"]["points_2d"] > 0 and r["lift"]["frames_3d"] == 0  # 2D only: no 3D measures
    proc = run_posetool("eval", "trust", str(pred), "--gt", str(gt))
    assert proc.returncode == 0 and b"re-entries kept" in proc.stdout


def test_eval_trust_refuses_an_untracked_prediction(tmp_path: Path):
    gt = _stream(tmp_path / "gt.jsonl", [[_inst(1, 0)]])
    untracked = {k: v for k, v in _inst(1, 0).items() if k != "track_id"}
    pred = _stream(tmp_path / "pred.jsonl", [[untracked]])
    proc = run_posetool("eval", "trust", str(pred), "--gt", str(gt))
    assert proc.returncode == 1 and b"track_id" in proc.stderr


def test_evaluate_trust_options_change_the_gap_threshold(tmp_path: Path):
    frames = [f for f in range(20) if not 5 <= f < 12]  # 7 frames away
    gt = _stream(tmp_path / "gt.jsonl", [[_inst(1, 0)] if f in frames else [] for f in range(20)])
    pred = _stream(tmp_path / "pred.jsonl", [[_inst(2, 0)] if f in frames else [] for f in range(20)])
    assert evaluate_trust(str(pred), str(gt), TrustOptions(min_gap=10), mot=False)["reentry"]["count"] == 0
    assert evaluate_trust(str(pred), str(gt), TrustOptions(min_gap=5), mot=False)["reentry"]["count"] == 1
