"""Recover: each option changes behaviour where it should.

The scene is scripted: people are 17 coloured dots (one colour per COCO keypoint) on grey. The pose
network is a real ``nn.Module`` run through the real :class:`TopDownEstimator` (crops, decoding,
back-projection): per keypoint a Gaussian colour match, averaged over 4×4 cells into heatmaps. The
``correspondences`` of the input stream are the true next positions of the keypoints with a chosen
affinity — the input contract of ``recover``, standing for a perfect correspondence network.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from posetool.hub.registry import InputSpec
from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions
from posetool.skeletons import COCO17
from posetool.recover.recoverer import Recoverer, RecoverOptions

W, H = 320, 240
K = 17
# COCO-17 template, x right / y down, in units of person height
TEMPLATE = np.array([
    [0.0, 0.05], [-0.03, 0.03], [0.03, 0.03], [-0.07, 0.05], [0.07, 0.05],
    [-0.15, 0.2], [0.15, 0.2], [-0.22, 0.38], [0.22, 0.38], [-0.26, 0.55], [0.26, 0.55],
    [-0.1, 0.55], [0.1, 0.55], [-0.12, 0.76], [0.12, 0.76], [-0.13, 0.97], [0.13, 0.97],
])
COLOURS = np.array([cv2.cvtColor(np.uint8([[[int(180 * k / K), 255, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
                    for k in range(K)], dtype=np.float64)


class ColourKeypointNet(nn.Module):
    """(N, 3, H, W) BGR in [0, 1] → (N, K, H/4, W/4): Gaussian match to each keypoint colour, 4×4 average."""

    def __init__(self, colours: np.ndarray, tau: float = 0.02) -> None:
        super().__init__()
        self.register_buffer("c", torch.tensor(colours / 255.0, dtype=torch.float32).view(1, -1, 3, 1, 1))
        self.tau = tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = ((x[:, None] - self.c) ** 2).sum(2)
        return F.avg_pool2d(torch.exp(-d / self.tau), 4)


def estimator() -> TopDownEstimator:
    spec = InputSpec(96, 128, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), channel_order="BGR")
    return TopDownEstimator(ColourKeypointNet(COLOURS), spec, COCO17, "cpu",
                            TopDownOptions(flip_test=False, rescore=False, oks_thre=1.0))


def person(x: float, y: float, height: float = 100.0) -> np.ndarray:
    """(K, 2) keypoints of a person whose head top is at (x, y)."""
    return TEMPLATE * height + (x, y)


def render(people: list[np.ndarray]) -> np.ndarray:
    img = np.full((H, W, 3), 128, np.uint8)
    for kps in people:
        for k, (x, y) in enumerate(kps):
            cv2.circle(img, (int(round(x)), int(round(y))), 3, COLOURS[k].tolist(), -1, cv2.LINE_AA)
    return img


def box(kps: np.ndarray) -> list[float]:
    lo, hi = kps.min(0) - 8, kps.max(0) + 8
    return [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]


def detected(kps: np.ndarray, conf: float = 0.9) -> dict:
    return {"bbox": box(kps), "score": 0.9, "keypoints": np.concatenate([kps, np.full((K, 1), conf)], 1).tolist()}


def entry(source: int, kps_next: np.ndarray, affinity: float = 0.9, shift: float = 0.0) -> dict:
    c = np.concatenate([kps_next + shift, np.full((K, 1), affinity)], 1)
    return {"source": source, "keypoints": c.tolist()}


A0, B0 = person(100, 60), person(220, 60)
A1, B1 = person(104, 60), person(216, 60)


def run(opts: RecoverOptions, frame1: dict, frame0: dict | None = None) -> dict:
    """Push frame 0 (A and B detected) and ``frame1``; return frame 1's output."""
    rec = Recoverer(estimator(), opts)
    f0 = frame0 or {"type": "frame", "frame": 0, "t": 0.0, "instances": [detected(A0), detected(B0)]}
    rec.push(f0, render([A0, B0]))
    return rec.push(frame1, render([A1, B1]))


def missed_b(**entry_kwargs: float) -> dict:
    """Frame 1 with B missed by the detector; correspondences of A and B."""
    return {"type": "frame", "frame": 1, "t": 0.04, "instances": [detected(A1)],
            "correspondences": [entry(0, A1), entry(1, B1, **entry_kwargs)]}


def recovered(out: dict) -> list[dict]:
    return [x for x in out["instances"] if x.get("origin") == "recovered"]


def test_missed_person_is_recovered_with_defaults() -> None:
    out = run(RecoverOptions(), missed_b())
    rec = recovered(out)
    assert len(rec) == 1 and len(out["instances"]) == 2
    kps = np.asarray(rec[0]["keypoints"])
    err = np.linalg.norm(kps[:, :2] - B1, axis=1)
    assert np.median(err) < 3.0, err
    assert rec[0]["recovered_from"] == 1
    assert out["instances"][0]["origin"] == "detected"


def test_people_flag() -> None:
    assert recovered(run(RecoverOptions(people=False), missed_b())) == []


def test_corr_thr() -> None:
    assert len(recovered(run(RecoverOptions(corr_thr=0.1), missed_b(affinity=0.3)))) == 1
    assert recovered(run(RecoverOptions(corr_thr=0.5), missed_b(affinity=0.3))) == []


def test_joint_thr_on_queries() -> None:
    f0 = {"type": "frame", "frame": 0, "t": 0.0, "instances": [detected(A0), detected(B0, conf=0.3)]}
    assert len(recovered(run(RecoverOptions(joint_thr=0.1), missed_b(), f0))) == 1
    assert recovered(run(RecoverOptions(joint_thr=0.5), missed_b(), f0)) == []


def _few(n_valid: list[int]) -> dict:
    f1 = missed_b()
    kp = np.asarray(f1["correspondences"][1]["keypoints"])
    kp[[k for k in range(K) if k not in n_valid], 2] = 0.0
    f1["correspondences"][1]["keypoints"] = kp.tolist()
    return f1


def test_min_correspondences() -> None:
    four = [5, 6, 11, 12]
    # the enclosing box of shoulders and hips holds the torso; the estimator finds the joints inside it
    assert len(recovered(run(RecoverOptions(min_correspondences=3, min_joints=4), _few(four)))) == 1
    assert recovered(run(RecoverOptions(min_correspondences=5, min_joints=4), _few(four))) == []


def test_skip_keypoints() -> None:
    ears_and_shoulders = [3, 4, 5, 6]  # only two usable once the ears are skipped
    assert recovered(run(RecoverOptions(min_correspondences=3, min_joints=3), _few(ears_and_shoulders))) == []
    assert len(recovered(run(RecoverOptions(min_correspondences=3, min_joints=3, skip_keypoints=()),
                             _few(ears_and_shoulders)))) == 1


def test_border() -> None:
    assert recovered(run(RecoverOptions(border=120.0), missed_b())) == []
    assert len(recovered(run(RecoverOptions(border=5.0), missed_b()))) == 1


def test_margin() -> None:
    b10 = recovered(run(RecoverOptions(margin=10.0), missed_b()))[0]["bbox"]
    b30 = recovered(run(RecoverOptions(margin=30.0), missed_b()))[0]["bbox"]
    assert np.isclose((b30[2] - b30[0]) - (b10[2] - b10[0]), 40.0, atol=0.5)


def test_min_joints() -> None:
    assert len(recovered(run(RecoverOptions(min_joints=5), missed_b()))) == 1
    assert recovered(run(RecoverOptions(min_joints=K + 1), missed_b())) == []


def test_claimed_oks_keeps_a_loosely_detected_person_from_coming_back_twice() -> None:
    """B is detected again in frame 1, but the detector's pose of B is off by ~14 px a joint. The
    re-estimated pose (exact) then agrees with the detection by less than ``oks_detections``, so the
    authors' checks alone (claimed_oks=1.0) add a second B; B's correspondences are assigned to B's
    detection (OKS 0.62 ≥ claimed_oks), so by default B is not re-estimated at all."""
    rng = np.random.default_rng(0)
    loose_b = B1 + rng.normal(0.0, 14.0, B1.shape)
    f1 = {"type": "frame", "frame": 1, "t": 0.04, "instances": [detected(A1), detected(loose_b)],
          "correspondences": [entry(0, A1), entry(1, B1)]}
    assert len(recovered(run(RecoverOptions(claimed_oks=1.0, nms_oks=1.0), f1))) == 1
    assert recovered(run(RecoverOptions(nms_oks=1.0), f1)) == []
    # B missed: A's detection is A's (one-to-one), so B's correspondences stay unclaimed and B comes back
    assert len(recovered(run(RecoverOptions(claimed_oks=0.0), missed_b()))) == 1
    with pytest.raises(ValueError, match="claimed_oks must be in"):
        RecoverOptions(claimed_oks=1.5)


def both_detected() -> dict:
    return {"type": "frame", "frame": 1, "t": 0.04, "instances": [detected(A1), detected(B1)],
            "correspondences": [entry(0, A1), entry(1, B1)]}


def test_oks_existing() -> None:
    loose = dict(oks_detections=1.0, nms_oks=1.0, claimed_oks=1.0)
    assert recovered(run(RecoverOptions(**loose), both_detected())) == []
    assert len(recovered(run(RecoverOptions(oks_existing=1.0, **loose), both_detected()))) == 2


def test_oks_detections() -> None:
    loose = dict(oks_existing=1.0, nms_oks=1.0, claimed_oks=1.0)
    assert recovered(run(RecoverOptions(**loose), both_detected())) == []
    assert len(recovered(run(RecoverOptions(oks_detections=1.0, **loose), both_detected()))) == 2


def test_nms_oks() -> None:
    dup = dict(oks_existing=1.0, oks_detections=1.0, claimed_oks=1.0)
    assert len(run(RecoverOptions(nms_oks=1.0, **dup), both_detected())["instances"]) == 4
    out = run(RecoverOptions(nms_oks=0.7, **dup), both_detected())
    assert len(out["instances"]) == 2


def test_nms_never_suppresses_a_detected_person_unless_asked() -> None:
    """Two detections of A (the pose stage kept both): recover's NMS leaves them to the pose stage,
    and still removes a recovered duplicate of a detected person."""
    f1 = {"type": "frame", "frame": 1, "t": 0.04, "instances": [detected(A1), detected(A1), detected(B1)],
          "correspondences": [entry(0, A1), entry(1, B1)]}
    quiet = dict(people=False, keypoints=False)
    assert len(run(RecoverOptions(**quiet), f1)["instances"]) == 3
    assert len(run(RecoverOptions(nms_detected=True, **quiet), f1)["instances"]) == 2
    dup = dict(oks_existing=1.0, oks_detections=1.0, claimed_oks=1.0)
    out = run(RecoverOptions(**dup), both_detected())
    assert len(out["instances"]) == 2 and recovered(out) == []


def test_nms_joint_thr() -> None:
    dup = dict(oks_existing=1.0, oks_detections=1.0, nms_oks=0.7, claimed_oks=1.0)
    assert len(run(RecoverOptions(nms_joint_thr=0.05, **dup), both_detected())["instances"]) == 2
    # no joint is confident enough to count: OKS is 0 and nothing is suppressed
    assert len(run(RecoverOptions(nms_joint_thr=0.999, **dup), both_detected())["instances"]) == 4


def weak_wrist() -> dict:
    f1 = both_detected()
    kp = np.asarray(f1["instances"][1]["keypoints"])
    kp[9] = (150.0, 20.0, 0.02)  # the detector's left wrist of B is wrong and weak
    f1["instances"][1]["keypoints"] = kp.tolist()
    return f1


def test_keypoints_flag_recovers_weak_keypoint() -> None:
    out = run(RecoverOptions(), weak_wrist())
    b = out["instances"][1]
    assert b["recovered_keypoints"] == [9]
    assert np.linalg.norm(np.asarray(b["keypoints"])[9, :2] - B1[9]) < 3.0
    assert b["keypoints"][9][2] > 0.1
    out = run(RecoverOptions(keypoints=False), weak_wrist())
    assert "recovered_keypoints" not in out["instances"][1]
    assert out["instances"][1]["keypoints"][9][2] == 0.02


def test_match_oks() -> None:
    f1 = weak_wrist()
    f1["correspondences"] = [entry(0, A1, shift=4.0), entry(1, B1, shift=4.0)]
    assert run(RecoverOptions(match_oks=0.5), f1)["instances"][1].get("recovered_keypoints") == [9]
    assert "recovered_keypoints" not in run(RecoverOptions(match_oks=0.99), f1)["instances"][1]


def test_correspondences_are_renumbered_after_nms() -> None:
    # frame 1: a duplicate of A is suppressed; frame 2's correspondence sources follow frame 1's output
    rec = Recoverer(estimator(), RecoverOptions(people=False, keypoints=False, nms_detected=True))
    rec.push({"type": "frame", "frame": 0, "t": 0.0, "instances": [detected(A0), detected(B0)]}, render([A0, B0]))
    dup = detected(A1)
    dup["score"] = 0.5
    out1 = rec.push({"type": "frame", "frame": 1, "t": 0.04, "instances": [dup, detected(A1), detected(B1)]},
                    render([A1, B1]))
    assert len(out1["instances"]) == 2
    out2 = rec.push({"type": "frame", "frame": 2, "t": 0.08, "instances": [detected(A1), detected(B1)],
                     "correspondences": [entry(0, A1), entry(1, A1), entry(2, B1)]}, render([A1, B1]))
    assert [e["source"] for e in out2["correspondences"]] == [0, 1]


def test_options_are_plain_params() -> None:
    p = RecoverOptions().as_params()
    assert p["skip_keypoints"] == [3, 4] and p["oks_existing"] == 0.8
    assert set(p) == {f.name for f in dataclasses.fields(RecoverOptions)}


class ColourCorrespondences:
    """Correspondences on the scripted scene: each query keypoint goes to the nearest pixel of its
    own colour in frame t (within 30 px), affinity 0.9 — the re-query interface of a
    :class:`posetool.correspond.infer.CorrespondenceEstimator`, computed from the image."""

    def correspond(self, prev_image, image, kps, boxes, people, frame_ids=None):
        from posetool.correspond.infer import Correspondence

        out = []
        for q in kps:
            pts = np.full((K, 3), np.nan)
            for k in range(K):
                near = np.abs(image.astype(np.float64) - COLOURS[k]).sum(2) < 30
                ys, xs = np.nonzero(near)
                if len(xs) == 0:
                    continue
                d = np.hypot(xs - q[k, 0], ys - q[k, 1])
                if d.min() < 30:
                    pts[k] = (xs[d < d.min() + 3].mean(), ys[d < d.min() + 3].mean(), 0.9)
            out.append(Correspondence(keypoints=pts, at_instances=np.zeros((len(people), K))))
        return out


def test_max_carry_caps_how_long_a_missed_person_is_carried() -> None:
    """B is missed by the detector in frames 1–5 but stays in the image: with re-querying it is
    carried through all five frames (recovered_frames 1…5); --max-carry 2 lets it go after two."""

    def carried(opts: RecoverOptions) -> list[int | None]:
        rec = Recoverer(estimator(), opts, correspondences=ColourCorrespondences())
        rec.push({"type": "frame", "frame": 0, "t": 0.0, "instances": [detected(A0), detected(B0)]}, render([A0, B0]))
        seen = []
        for f in range(1, 6):
            a, b = person(100 + 2 * f, 60), person(220 - 2 * f, 60)
            out = rec.push({"type": "frame", "frame": f, "t": f / 25, "instances": [detected(a)],
                            "correspondences": [entry(0, a)] + ([entry(1, b)] if f == 1 else [])}, render([a, b]))
            got = recovered(out)
            seen.append(got[0]["recovered_frames"] if got else None)
        return seen

    assert carried(RecoverOptions()) == [1, 2, 3, 4, 5]
    assert carried(RecoverOptions(max_carry=2)) == [1, 2, None, None, None]
    with pytest.raises(ValueError, match="max_carry must be ≥ 0"):
        RecoverOptions(max_carry=-1)


def test_recovered_people_carry_the_pose_models_doubt() -> None:
    (b,) = recovered(run(RecoverOptions(), missed_b()))
    assert len(b["lr_doubt"]) == len(COCO17.flip_pairs)
    assert all(0.0 <= d < 0.1 for d in b["lr_doubt"])  # one colour per keypoint: each heatmap has one peak


def test_recovered_keypoints_forget_their_pairs_doubt() -> None:
    """A keypoint re-estimated inside the box is not the point the model's doubt was about: its
    pair's doubt becomes unknown (None); the other pairs keep theirs."""
    weak = detected(A1)
    kps = np.asarray(weak["keypoints"])
    kps[13, 2] = 0.05  # the left knee was missed
    weak["keypoints"], weak["lr_doubt"] = kps.tolist(), [0.2] * 8
    frame1 = {"type": "frame", "frame": 1, "t": 0.04, "instances": [weak, detected(B1)],
              "correspondences": [entry(0, A1), entry(1, B1)]}
    a = run(RecoverOptions(), frame1)["instances"][0]
    assert 13 in a["recovered_keypoints"]
    assert a["lr_doubt"] == [0.2] * 6 + [None, 0.2]  # (13, 14) is the seventh pair
