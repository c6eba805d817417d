"""Tracking: assignment, lifecycle and one test per option, on scripted scenes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from posetool.stream import make_frame, make_header, read_stream
from posetool.track.assignment import greedy, hungarian
from posetool.track.similarity import SimilarityWeights
from posetool.track.tracker import Tracker, TrackerOptions
from tests.conftest import run_posetool, write_records

# A standing person in coco17, 100 px wide and 200 px tall, centred at the origin.
TEMPLATE = np.array([
    [0, -90], [-6, -95], [6, -95], [-12, -92], [12, -92], [-25, -60], [25, -60], [-35, -20], [35, -20],
    [-40, 15], [40, 15], [-15, 10], [15, 10], [-17, 55], [17, 55], [-18, 100], [18, 100]], float)


def person(cx: float, cy: float = 240.0, conf: float = 0.9, scale: float = 1.0, jitter: np.ndarray | None = None) -> dict:
    xy = TEMPLATE * scale + [cx, cy]
    if jitter is not None:
        xy = xy + jitter
    kps = np.concatenate([xy, np.full((17, 1), conf)], axis=1)
    return {"bbox": [cx - 50 * scale, cy - 100 * scale, cx + 50 * scale, cy + 100 * scale], "score": 0.9, "keypoints": kps.tolist()}


def run(frames_people: list[list[dict]], **opts) -> list[list[int | None]]:
    """Track scripted frames; returns the track ids per frame in instance order."""
    tracker = Tracker(TrackerOptions(**opts), "coco17")
    out = []
    for f, people in enumerate(frames_people):
        frame = make_frame(f, f / 25.0, [dict(p) for p in people])
        out += list(tracker.push(frame))
    out += list(tracker.flush())
    return [[i.get("track_id") for i in fr["instances"]] for fr in out], out


def crossing(frames: int = 40, miss: tuple[int, ...] = ()) -> list[list[dict]]:
    """Person A walks right, B walks left, 8 px per frame (a walk at 25 fps); they cross at frame 19.
    B is nearer the camera (drawn larger)."""
    seq = []
    for f in range(frames):
        a = person(100 + 8 * f)
        b = person(404 - 8 * f, scale=1.15)
        seq.append([a] if f in miss else [a, b])
    return seq


def ids_of(out_frames: list[dict], which) -> list:
    return [[i.get("track_id") for i in fr["instances"] if which(i)] for fr in out_frames]


def test_hungarian_beats_greedy_on_a_constructed_case():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert greedy(sim, 0.3) == [(0, 0)]           # greedy grabs 0.9 and strands track 1
    assert sorted(hungarian(sim, 0.3)) == [(0, 1), (1, 0)]


def test_greedy_swaps_identities_where_hungarian_does_not():
    # Box-only people, all 100 px tall at the same height, so IoU is the overlap of x-intervals.
    # Tracks: A=[0,100], B=[60,160]. Next frame: d0=[25,125], d1=[-40,60].
    # IoU(A,d0)=75/125=0.60, IoU(B,d0)=65/135=0.48, IoU(A,d1)=60/140=0.43, IoU(B,d1)=0.
    # Greedy takes A→d0 (0.60) and leaves d1 to a new track; Hungarian maximises the total:
    # A→d1 + B→d0 = 0.91 > 0.60.
    def box(x1, x2):
        return {"bbox": [x1, 0.0, x2, 100.0], "score": 0.9}
    f0, f1 = [box(0, 100), box(60, 160)], [box(25, 125), box(-40, 60)]
    assert run([f0, f1], similarity="iou", gate=0.3, matcher="hungarian")[0][1] == [1, 0]
    assert run([f0, f1], similarity="iou", gate=0.3, matcher="greedy")[0][1] == [0, 2]


def test_crossing_keeps_identities_with_a_two_frame_miss():
    # B is missed for two frames before the crossing; it is re-identified by its pose and both
    # keep their ids through the crossing. (A miss *at* the crossing is what recover is for.)
    ids, _ = run(crossing(40, miss=(10, 11)), similarity="oks", gate=0.2, patience=5)
    a_ids = {fr[0] for fr in ids}
    b_ids = {fr[1] for fr in ids if len(fr) > 1}
    assert a_ids == {0} and b_ids == {1}


def test_similarity_option_changes_assignment():
    # Two people side by side whose boxes overlap strongly but whose poses differ (one is
    # mirrored): IoU cannot tell them apart, OKS can.
    a0, b0 = person(300), person(330)
    b0["keypoints"] = (np.array(b0["keypoints"]) * [[-1, 1, 1]] + [[660, 0, 0]]).tolist()
    a1 = dict(a0, bbox=[260, 140, 360, 340])
    b1 = dict(b0, bbox=[250, 140, 350, 340])
    ids_iou, _ = run([[a0, b0], [b1, a1]], similarity="iou", gate=0.1)
    ids_oks, _ = run([[a0, b0], [b1, a1]], similarity="oks", gate=0.1)
    assert ids_oks[1] == [1, 0]          # pose similarity follows the people
    assert ids_iou[1] != ids_oks[1]       # box overlap alone swaps them


def test_gate_option():
    ids_loose, _ = run([[person(100)], [person(160)]], similarity="iou", gate=0.2)
    ids_tight, _ = run([[person(100)], [person(160)]], similarity="iou", gate=0.6)
    assert ids_loose == [[0], [0]] and ids_tight == [[0], [1]]


def test_kp_thr_and_min_keypoints_options():
    weak = person(100, conf=0.05)
    assert run([[weak]], min_keypoints=3, kp_thr=0.1)[0] == [[None]]
    assert run([[weak]], min_keypoints=3, kp_thr=0.01)[0] == [[0]]
    assert run([[weak]], min_keypoints=0, kp_thr=0.1)[0] == [[0]]


def test_patience_option_reidentifies_or_not():
    seq = [[person(100)]] + [[]] * 4 + [[person(104)]]
    assert run(seq, patience=10)[0][-1] == [0]
    assert run(seq, patience=2)[0][-1] == [1]


def test_min_length_option_clears_short_tracks():
    seq = [[person(100), person(400)], [person(102)], [person(104)]]
    ids, _ = run(seq, min_length=2)
    assert ids == [[0, None], [0], [0]]
    assert run(seq, min_length=1)[0][0] == [0, 1]


def test_interpolate_option_fills_short_gaps():
    seq = [[person(100)], [], [], [person(124)]]
    ids, frames = run(seq, interpolate=2, patience=5)
    assert ids == [[0], [0], [0], [0]]
    mid = frames[1]["instances"][0]
    assert mid["origin"] == "interpolated"
    np.testing.assert_allclose(np.asarray(mid["bbox"]), [58, 140, 158, 340])
    assert run(seq, interpolate=1, patience=5)[0] == [[0], [], [], [0]]  # gap of 2 > 1: not filled


def test_smooth_option_reduces_jitter():
    rng = np.random.default_rng(0)
    seq = [[person(200, jitter=rng.normal(0, 3, (17, 2)))] for _ in range(30)]
    _, raw = run(seq, smooth="none")
    _, smooth = run(seq, smooth=True, smooth_min_cutoff=0.5)  # the old boolean: One-Euro
    _, offline = run(seq)  # the default: offline
    def spread(frames):
        xs = np.array([np.asarray(f["instances"][0]["keypoints"], float)[:, 0] for f in frames])
        return np.abs(np.diff(xs, axis=0)).mean()
    assert spread(smooth) < 0.5 * spread(raw)
    assert spread(offline) < 0.5 * spread(raw)


def test_corr_similarity_and_corr_thr_use_correspondences():
    # Two identical-looking people swap places between frames; only the correspondences know.
    a0, b0 = person(200), person(260)
    a1, b1 = person(260), person(200)  # frame 1 lists the person now at 260 first
    def corr_entry(source: int, target: dict, affinity: float) -> dict:
        kps = np.asarray(target["keypoints"], float).copy()
        kps[:, 2] = affinity
        return {"source": source, "keypoints": kps.tolist()}
    frames = [make_frame(0, 0.0, [a0, b0]), make_frame(1, 0.04, [a1, b1])]
    # person 0 of frame 0 (at 200) moved to 260 = instance 0 of frame 1
    frames[1]["correspondences"] = [corr_entry(0, a1, 0.8), corr_entry(1, b1, 0.8)]
    def track(similarity: str, corr_thr: float = 0.1):
        tracker = Tracker(TrackerOptions(similarity=similarity, gate=0.3, corr_thr=corr_thr), "coco17")
        out = [f for fr in frames for f in tracker.push({**fr, "instances": [dict(i) for i in fr["instances"]]})]
        out += list(tracker.flush())
        return [i["track_id"] for i in out[1]["instances"]]
    assert track("corr") == [0, 1]          # follows the correspondences
    assert track("oks") == [1, 0]           # pose alone keeps people in place
    assert track("corr", corr_thr=0.9) != [0, 1]  # affinities 0.8 no longer count as hits


def test_similarity_weights_parse():
    assert SimilarityWeights.parse("corr:1,oks:3").weights == {"corr": 0.25, "oks": 0.75}
    with pytest.raises(ValueError, match="unknown kind"):
        SimilarityWeights.parse("reid")


def test_track_cli_end_to_end(tmp_path: Path):
    header = make_header({"path": None, "width": 640, "height": 480, "fps": 25.0, "frames": 40}, "coco17",
                         extra_header="kept")
    recs = [header] + [make_frame(f, f / 25, ps) for f, ps in enumerate(crossing(40, miss=(18, 19)))]
    recs.append({"type": "end", "frames": 40, "instances": 78, "finished": True})
    path = write_records(tmp_path / "poses.msgpack", recs)
    out = run_posetool("track", str(path), "--interpolate", "2", "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    back = read_stream(io.BytesIO(out.stdout))
    assert back[0]["stages"][-1]["stage"] == "track" and back[0]["extra_header"] == "kept"
    frames = [r for r in back if r["type"] == "frame"]
    assert all(len(f["instances"]) == 2 for f in frames)
    assert back[-1]["instances"] == 80 and back[-1]["finished"] is True
    ids = {(i["track_id"], i.get("origin", "detected")) for f in frames for i in f["instances"]}
    assert ids == {(0, "detected"), (1, "detected"), (1, "interpolated")}
    bad = run_posetool("track", str(path), "--similarity", "reid")
    assert bad.returncode == 2 and b"unknown kind" in bad.stderr


def test_track_on_a_cut_stream_writes_every_complete_frame_then_fails(tmp_path: Path):
    from posetool.stream import encode

    header = make_header({"path": None, "width": 640, "height": 480, "fps": 25.0, "frames": 10}, "coco17")
    recs = [header] + [make_frame(f, f / 25, [person(100 + 8 * f)]) for f in range(10)]
    data = b"".join(encode(r, "msgpack") for r in recs)
    cut = data[:-20]  # the last frame record is cut in the middle
    out = run_posetool("track", "-", "--min-length", "3", "--format", "jsonl", input=cut)
    assert out.returncode == 1 and b"cut off mid-record" in out.stderr
    back = read_stream(io.BytesIO(out.stdout), strict=True)
    frames = [r for r in back if r["type"] == "frame"]
    assert [f["frame"] for f in frames] == list(range(9))  # the delayed frames were flushed
    assert back[-1]["type"] == "end" and back[-1]["finished"] is False
