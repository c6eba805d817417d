"""scripts/recovery_drop.py (issue #16): dropping, the pre-correspond stream and the counting, on
constructed inputs with known answers; and recover's wrapper of a landmark model (no weights)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("recovery_drop", REPO / "scripts" / "recovery_drop.py")
rd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rd)

# a standing person's coco17 layout, 80 px tall (x, y offsets from the box's top-left corner)
_BODY = np.array([[20, 8], [22, 6], [18, 6], [24, 7], [16, 7], [28, 18], [12, 18], [31, 30], [9, 30], [32, 40],
                  [8, 40], [25, 42], [15, 42], [25, 60], [15, 60], [25, 78], [15, 78]], dtype=np.float64)


def person(x: float, y: float, track: int | None = None, conf: float = 0.9, **extra: object) -> dict:
    kps = np.concatenate([_BODY + (x, y), np.full((17, 1), conf)], 1)
    inst = {"bbox": [x, y, x + 40, y + 80], "score": 0.9, "box_score": 0.8, "keypoints": kps.round(3).tolist(),
            **extra}
    if track is not None:
        inst["track_id"] = track
    return inst


def scene() -> tuple[dict, list[dict]]:
    """Track 1 in frames 0–39, track 2 in 5–29, track 3 in 10–12 (short), track 4 in 0–9 and 15–39 (a
    gap); plus an interpolated instance that is no measurement."""
    spans = {1: [range(0, 40)], 2: [range(5, 30)], 3: [range(10, 13)], 4: [range(0, 10), range(15, 40)]}
    frames = []
    for f in range(40):
        insts = [person(100 * t + f, 50, t, track_score=0.5, keypoints_3d=[[0, 0, 0]] * 17)
                 for t, rs in spans.items() if any(f in r for r in rs)]
        if f == 12:
            insts.append(person(600, 50, 4, origin="interpolated"))
        frames.append({"type": "frame", "frame": f, "t": f / 10, "instances": insts})
    header = {"type": "header", "format": "posetool.stream", "version": 1, "source": {"path": "/v.avi"},
              "skeleton": "coco17", "skeleton_3d": "h36m17",
              "stages": [{"stage": s} for s in ("detect", "pose2d", "track", "lift3d")]}
    return header, frames


def test_ground_truth_and_droppable() -> None:
    _, frames = scene()
    gt = rd.ground_truth(frames)
    assert sum(map(len, gt.values())) == 40 + 25 + 3 + 35  # the interpolated instance is not ground truth
    cand = set(rd.droppable(gt))
    firsts = {(0, 1), (5, 2), (10, 3), (0, 4), (15, 4)}  # a track's first frame and the first after a gap
    assert len(cand) == 103 - len(firsts) and not cand & firsts


def test_drop_random() -> None:
    _, frames = scene()
    gt = rd.ground_truth(frames)
    a = rd.drop_random(gt, 0.2, seed=3)
    assert len(a) == round(0.2 * 103) and a <= set(rd.droppable(gt))
    assert a == rd.drop_random(gt, 0.2, seed=3) and a != rd.drop_random(gt, 0.2, seed=4)


def test_drop_runs() -> None:
    _, frames = scene()
    gt = rd.ground_truth(frames)
    present = {(f, x["track_id"]) for f, xs in gt.items() for x in xs}
    d = rd.drop_runs(gt, 0.2, seed=1)
    assert len(d) >= round(0.2 * 103)
    assert {t for _, t in d} <= {1, 2, 4}  # track 3 (3 frames) is too short
    for t in {t for _, t in d}:
        fs = sorted(f for f, tt in d if tt == t)
        runs = np.split(np.array(fs), np.nonzero(np.diff(fs) > 1)[0] + 1)
        for r in runs:
            assert 3 <= len(r) <= 5
            assert (r[0] - 1, t) in present and (r[0] - 1, t) not in d  # the person is there in frame t−1
            assert all((f, t) in present for f in r)


def test_pre_correspond_stream() -> None:
    header, frames = scene()
    h, out = rd.pre_correspond(header, frames, {(3, 1), (20, 2)})
    assert [s["stage"] for s in h["stages"]] == ["detect", "pose2d"] and h["source"]["path"] == "/v.avi"
    assert "skeleton_3d" not in h
    assert len(out[3]["instances"]) == 1 and len(out[20]["instances"]) == 2  # (frame 20: tracks 1, 4)
    assert len(out[12]["instances"]) == 3  # the interpolated person is left out
    assert all(set(x) == {"bbox", "score", "box_score", "keypoints"} for r in out for x in r["instances"])


def test_count_frame_known_answers() -> None:
    a, b, c = person(100, 50), person(300, 50), person(500, 50)
    near_a = person(101, 51, origin="recovered")  # 1.4 px off: OKS ≈ 0.9
    far = person(100, 200, origin="recovered")  # 150 px below a: nobody there
    on_c = person(500, 50, origin="recovered")  # exactly kept person c: a duplicate
    got = rd.count_frame([a, b], [c], [near_a, far, on_c])
    assert got == {"dropped": 2, "back": 1, "recovered": 3, "nobody": 1, "dup": 1, "missed_found": 0}
    # a person the chain missed, labelled by hand where `far` lies: `far` covers somebody after all
    far_box = far["bbox"]
    got = rd.count_frame([a, b], [c], [near_a, far, on_c], missed=[[v + 3 for v in far_box]])
    assert (got["nobody"], got["missed_found"], got["back"], got["dup"]) == (0, 1, 1, 1)
    assert rd.count_frame([a, b], [c], [far], missed=[[v + 60 for v in far_box]])["nobody"] == 1  # IoU < 0.5
    # OKS threshold: 8 px off a 40×80 box is OKS < 0.5 (COCO sigmas), 2 px is well above
    assert rd.oks_gt(a, [person(102, 50)])[0] > 0.9 > 0.5 > rd.oks_gt(a, [person(108, 50)])[0]
    # Hungarian, not greedy: r1 is best for a (2 px) but greedy would then leave b with r2 (12 px);
    # the assignment gives r1 to b (6 px) and r2 to a (4 px): both come back
    a2, b2, r1, r2 = person(100, 50), person(108, 50), person(102, 50), person(96, 50)
    assert rd.count_frame([a2, b2], [], [r1, r2])["back"] == 2
    # keypoints below --kp-thr in the ground truth do not count
    weak = person(100, 50)
    weak["keypoints"] = [[x, y, 0.2] if k > 4 else [x, y, c] for k, (x, y, c) in enumerate(weak["keypoints"])]
    moved = person(100, 50)
    moved["keypoints"] = [[x + (50 if k > 4 else 0), y, c] for k, (x, y, c) in enumerate(moved["keypoints"])]
    assert rd.oks_gt(weak, [moved])[0] == pytest.approx(1.0)


def test_missed_people_file(tmp_path: Path) -> None:
    f = tmp_path / "m.txt"
    f.write_text("# comment\n3 10 20 30 60  # a note\n\n3 100 20 130 60\n7 1.5 2 3 4\n")
    assert rd.read_missed(str(f)) == {3: [[10.0, 20.0, 30.0, 60.0], [100.0, 20.0, 130.0, 60.0]], 7: [[1.5, 2.0, 3.0, 4.0]]}
    assert rd.read_missed(None) == {}
    assert rd.box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)
    # the hand labels of vtest's held-out frames: boxes inside the 768×576 frame, frames 0–149
    labels = rd.read_missed(str(REPO / "tests" / "data" / "vtest_missed.txt"))
    boxes = [(f, b) for f, bs in labels.items() for b in bs]
    assert len(boxes) == 27 and all(0 <= f < 150 for f, _ in boxes)
    assert all(0 <= b[0] < b[2] <= 768 and 0 <= b[1] < b[3] <= 576 for _, b in boxes)


def test_count_totals() -> None:
    _, frames = scene()
    gt = rd.ground_truth(frames)
    dropped = {(3, 1), (4, 1)}
    out = [{"frame": f, "instances": []} for f in range(40)]
    out[3]["instances"] = [person(103, 50, origin="recovered")]  # track 1 of frame 3 is at x = 100 + 3
    out[4]["instances"] = [person(400, 400, origin="recovered")]
    tot = rd.count(gt, dropped, out)
    assert (tot["dropped"], tot["back"], tot["recovered"], tot["nobody"]) == (2, 1, 2, 1)
    assert tot["back_pct"] == 50.0 and tot["nobody_pct"] == 50.0
    row = {"model": "lk", "scheme": "random", "max_carry": 5, **tot}
    assert "| `lk` | random | 5 | 2 | 1 | 50.0 |" in rd.table([row])


def test_landmarks_in_boxes_drops_absent_poses() -> None:
    """recover's wrapper of a landmark runner (blazepose_full): one crop per box, presence < 0.5 is no pose."""
    from posetool.recover.stage import LandmarksInBoxes

    class FakeLandmarks:
        def estimate(self, images, rois):
            n = len(rois[0])
            self.rois = rois[0]
            coco = np.stack([np.full((17, 3), float(i)) for i in range(n)])
            return [SimpleNamespace(coco17=coco, score=np.array([0.9, 0.1, 0.7])[:n])]

    fake = FakeLandmarks()
    res = LandmarksInBoxes(fake).estimate(np.zeros((100, 100, 3), np.uint8),
                                          np.array([[0, 0, 10, 20], [5, 5, 15, 15], [20, 20, 60, 40]]), np.ones(3))
    assert res.indices.tolist() == [0, 2] and res.keypoints[:, 0, 0].tolist() == [0.0, 2.0]
    assert fake.rois[0].width == pytest.approx(25.0) and fake.rois[2].cx == pytest.approx(40.0)
