"""``eval pose``: our COCO stats equal pycocotools' COCOeval run directly; streams map to images."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posetool.eval.coco import evaluate_coco_keypoints, load_coco_predictions
from posetool.skeletons import COCO17
from posetool.stream import StreamWriter, make_end, make_frame, make_header
from tests.conftest import run_posetool


def make_gt(rng: np.random.Generator, n_images: int = 4, people: int = 3) -> tuple[dict, list[list[np.ndarray]]]:
    """A COCO keypoints dataset as posetool synth writes it: id = frame + 1, file {frame:06d}.jpg, frame_index."""
    data = {"images": [], "annotations": [], "categories": [
        {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO17.keypoints),
         "skeleton": [[a + 1, b + 1] for a, b in COCO17.bones]}]}
    poses = []
    for f in range(n_images):
        data["images"].append({"id": f + 1, "file_name": f"{f:06d}.jpg", "frame_index": f, "width": 640, "height": 480})
        frame = []
        for p in range(people):
            k = np.zeros((17, 3))
            k[:, 0] = 60 + 180 * p + rng.uniform(0, 80, 17)
            k[:, 1] = rng.uniform(40, 400, 17)
            k[:, 2] = rng.choice([0, 1, 2], 17, p=[0.1, 0.2, 0.7])
            k[k[:, 2] == 0, :2] = 0
            vis = k[:, 2] > 0
            x0, y0 = k[vis, 0].min(), k[vis, 1].min()
            w, h = k[vis, 0].max() - x0, k[vis, 1].max() - y0
            data["annotations"].append({"id": len(data["annotations"]) + 1, "image_id": f + 1, "category_id": 1,
                                        "keypoints": k.ravel().tolist(), "num_keypoints": int(vis.sum()),
                                        "bbox": [x0, y0, w, h], "area": float(w * h), "iscrowd": 0})
            frame.append(k)
        poses.append(frame)
    return data, poses


def predictions(rng: np.random.Generator, poses: list[list[np.ndarray]]) -> list[list[tuple[np.ndarray, float]]]:
    out = []
    for frame in poses:
        preds = []
        for k in frame:
            if rng.random() < 0.15:
                continue
            p = k.copy()
            p[:, :2] += rng.normal(0, rng.choice([1.0, 4.0, 12.0]), (17, 2))
            p[k[:, 2] == 0, :2] = rng.uniform(0, 400, (int((k[:, 2] == 0).sum()), 2))
            p[:, 2] = rng.uniform(0.3, 1, 17)
            preds.append((p, float(rng.uniform(0.2, 1))))
        if rng.random() < 0.5:  # a spurious person
            preds.append((np.c_[rng.uniform(0, 600, (17, 2)), np.full(17, 0.4)], 0.3))
        out.append(preds)
    return out


def pycocotools_direct(gt_path: Path, results: list[dict]) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt_path))
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_results_json_and_stream_equal_pycocotools(tmp_path):
    rng = np.random.default_rng(0)
    gt, poses = make_gt(rng)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    preds = predictions(rng, poses)
    results = [{"image_id": f + 1, "category_id": 1, "keypoints": p.ravel().tolist(), "score": s}
               for f, frame in enumerate(preds) for p, s in frame]
    (tmp_path / "res.json").write_text(json.dumps(results))
    expected = pycocotools_direct(tmp_path / "gt.json", json.loads((tmp_path / "res.json").read_text()))
    assert 0.1 < expected[0] < 0.99  # a non-trivial case

    ours = evaluate_coco_keypoints(str(tmp_path / "gt.json"), load_coco_predictions(str(tmp_path / "res.json"), str(tmp_path / "gt.json")))
    np.testing.assert_array_equal(ours["stats"], expected)

    # The same predictions as a posetool stream (frame f ↔ image with frame_index f).
    with StreamWriter(str(tmp_path / "pred.msgpack"), "msgpack") as w:
        w.write(make_header({"path": "v.mp4", "frames": len(preds)}, "coco17"))
        for f, frame in enumerate(preds):
            w.write(make_frame(f, f / 25, [{"keypoints": p.tolist(), "score": s} for p, s in frame]))
        w.write(make_end(len(preds), sum(map(len, preds))))
    out = run_posetool("eval", "pose", str(tmp_path / "pred.msgpack"), "--gt", str(tmp_path / "gt.json"), "--json")
    assert out.returncode == 0, out.stderr.decode()
    np.testing.assert_allclose(json.loads(out.stdout)["stats"], expected, rtol=0, atol=1e-12)
    table = run_posetool("eval", "pose", str(tmp_path / "res.json"), "--gt", str(tmp_path / "gt.json"))
    assert table.returncode == 0 and b"OKS .50:.95" in table.stdout and b"AR" in table.stdout
    assert b"Average Precision" not in table.stdout + table.stderr  # pycocotools' printout only with --debug


@pytest.mark.parametrize("image, frame", [
    ({"id": 7, "file_name": "x.jpg", "frame_index": 3}, 3),
    ({"id": 7, "file_name": "images/val/003418_mpii_test/000012.jpg"}, 12),
    ({"id": 7, "file_name": "frame_5.png"}, 5),
    ({"id": 7, "file_name": "cover.jpg"}, 6),
])
def test_frame_matching_convention(image, frame):
    from posetool.eval.frames import image_frame_index

    assert image_frame_index(image) == frame


def test_stream_shorter_than_gt_is_an_error(tmp_path):
    rng = np.random.default_rng(1)
    gt, poses = make_gt(rng, n_images=5)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with StreamWriter(str(tmp_path / "pred.jsonl"), "jsonl") as w:
        w.write(make_header({"path": "v.mp4", "frames": 3}, "coco17"))
        for f in range(3):
            w.write(make_frame(f, f / 25, [{"keypoints": poses[f][0].tolist(), "score": 1.0}]))
        w.write(make_end(3, 3))
    out = run_posetool("eval", "pose", str(tmp_path / "pred.jsonl"), "--gt", str(tmp_path / "gt.json"))
    assert out.returncode == 1
    err = out.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "3 frames" in err
