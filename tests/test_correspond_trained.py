"""The shipped correspondence model on an image pair related by a known affine transform.

A held-out synth frame (seed 777, never used in training) is cut into a 128×128 window around each
person; the second image is the same source seen through the window moved by a known similarity
(rotation 10°, zoom 1.1, shift (8, −6) px). The trained default must put the refined-map arg-max of
at least 90 % of the visible keypoints that stay in view within 8 input pixels (two heatmap cells)
of where the transform sends them (it found 47 of 47 when shipped); the naive baseline (no
motion) is far below that.
"""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from posetool.correspond.pairs import compose, person_window, similarity_about_center, window_matrix
from posetool.hub.loader import load_model
from posetool.pose2d.crop import affine_points
from posetool.preprocess import to_input

THRESHOLD = 0.90
RADIUS = 8.0


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list[dict]]:
    out = tmp_path_factory.mktemp("held") / "s777"
    subprocess.run([sys.executable, "-m", "posetool", "synth", str(out), "--people", "3", "--frames", "3",
                    "--seed", "777", "--image-folder", "-q"], check=True)
    import json

    recs = [json.loads(line) for line in (out / "gt.jsonl").read_text().splitlines()]
    image = cv2.imread(str(sorted((out / "images").iterdir())[1]))
    return image, recs[2]["instances"]


def test_trained_default_finds_affine_correspondences(frame: tuple[np.ndarray, list[dict]]) -> None:
    image, people = frame
    loaded = load_model("correspond_r18_synth", task="correspond", device="cpu")
    net, spec = loaded.module, loaded.spec.input
    s = spec.width
    hits = base_hits = total = 0
    for inst in people:
        kp = np.asarray(inst["keypoints"], dtype=np.float64)
        vis = np.asarray(inst["visibility"]) == 2
        if vis.sum() < 5:
            continue
        b = inst["bbox"]
        center, side = person_window(np.column_stack([kp[:, :2], vis]), np.array([b[0], b[1], b[2] - b[0], b[3] - b[1]]))
        m1 = window_matrix(center, 2.0 * side, s)
        m2 = compose(similarity_about_center(s, 1.1, 10.0, 8.0, -6.0), m1)
        crops = np.stack([cv2.warpAffine(image, m, (s, s)) for m in (m1, m2)])
        x = to_input(crops, spec)
        q = affine_points(kp[:, :2], m1)
        t = affine_points(kp[:, :2], m2)
        inside = vis & (t >= 0).all(1) & (t <= s - 1).all(1) & (q >= 0).all(1) & (q <= s - 1).all(1)
        with torch.no_grad():
            _, logits = net(x[:1], x[1:], torch.tensor(q[None], dtype=torch.float32), torch.tensor(inside[None]))
        maps = torch.sigmoid(logits)[0].numpy()
        idx = maps.reshape(len(kp), -1).argmax(1)
        pred = np.stack([idx % maps.shape[2], idx // maps.shape[2]], 1) * net.stride
        hits += int((np.linalg.norm(pred - t, axis=1) <= RADIUS)[inside].sum())
        base_hits += int((np.linalg.norm(q - t, axis=1) <= RADIUS)[inside].sum())
        total += int(inside.sum())
    assert total >= 15
    assert hits / total >= THRESHOLD, (hits, total)
    assert base_hits / total < THRESHOLD - 0.2


def test_eval_correspond_beats_the_baseline_five_frames_apart(tmp_path) -> None:
    """`posetool eval correspond` on a held-out synth sequence: where people have moved (t−5 → t) the
    shipped model misses half a head size less often than "the keypoint did not move". When added:
    1.9 % against 9.7 % misses; since synth pulls people who start outside into view (#17) seed 905's
    world differs and gives 5.3 % against 8.2 % (the model is weak; retraining it is issue #17)."""
    import json

    out = tmp_path / "s905"
    subprocess.run([sys.executable, "-m", "posetool", "synth", str(out), "--people", "3", "--frames", "20",
                    "--seed", "905", "-q"], check=True)
    res = subprocess.run([sys.executable, "-m", "posetool", "eval", "correspond", str(out), "--step", "5",
                          "--device", "cpu", "--json", "-q"], check=True, capture_output=True, text=True)
    r = json.loads(res.stdout)
    assert r["keypoints"] >= 100 and r["step"] == 5
    assert r["model_pckh"] > r["base_pckh"], r
