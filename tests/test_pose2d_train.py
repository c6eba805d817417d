"""pose2d training: COCO-format reading, augmentation geometry, loss decreases, exact resume."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from posetool.hub.registry import InputSpec, ModelSpec
from posetool.data.coco_keypoints import clean_samples, open_keypoint_dataset
from posetool.pose2d.augment import AugmentConfig, make_example
from posetool.pose2d.crop import box_to_center_scale
from posetool.skeletons import COCO17
from posetool.pose2d.train import JointsMSELoss, Pose2DTrainConfig, train_pose2d

# a stick figure in a 100x200 box: coco17 keypoints relative to the box's top-left corner
FIGURE = np.array([
    [50, 20], [45, 15], [55, 15], [40, 18], [60, 18], [35, 45], [65, 45], [28, 75], [72, 75],
    [25, 105], [75, 105], [40, 110], [60, 110], [38, 150], [62, 150], [36, 190], [64, 190],
], dtype=np.float64)


def draw_person(image, origin, scale=1.0):
    pts = FIGURE * scale + origin
    for a, b in COCO17.bones:
        cv2.line(image, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), (40, 200, 240), 4)
    for j, p in enumerate(pts):
        cv2.circle(image, tuple(int(v) for v in p), 5, (255 - 12 * j, 10 * j, 120), -1)
    return pts


def make_coco(root, n_images=4, seed=0):
    """A COCO-layout dataset: root/annotations/person_keypoints_toy.json and root/toy/*.jpg."""
    rng = np.random.default_rng(seed)
    (root / "toy").mkdir(parents=True)
    (root / "annotations").mkdir()
    images, anns = [], []
    for i in range(n_images):
        img = np.full((240, 320, 3), 60, np.uint8)
        img += rng.integers(0, 30, img.shape, dtype=np.uint8)
        for k in range(2):
            s = rng.uniform(0.8, 1.1)
            origin = np.array([20 + 150 * k + rng.uniform(0, 20), rng.uniform(5, 20)])
            pts = draw_person(img, origin, s)
            kps = np.concatenate([pts, np.full((17, 1), 2.0)], axis=1)
            x0, y0 = pts.min(axis=0) - 8
            x1, y1 = pts.max(axis=0) + 8
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "area": float((x1 - x0) * (y1 - y0)),
                         "keypoints": kps.ravel().tolist(), "num_keypoints": 17})
        cv2.imwrite(str(root / "toy" / f"{i:06d}.jpg"), img)
        images.append({"id": i + 1, "file_name": f"{i:06d}.jpg", "width": 320, "height": 240})
    anns.append({"id": 99, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 10, 10], "area": 100,
                 "keypoints": [0] * 51, "num_keypoints": 0})
    data = {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17.keypoints), "skeleton": []}]}
    path = root / "annotations" / "person_keypoints_toy.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_layout_loads_and_filters_like_upstream(tmp_path):
    ann = make_coco(tmp_path)
    ds = open_keypoint_dataset(str(ann))
    assert len(ds.samples) == 8 and ds.num_joints == 17  # the crowd annotation is skipped
    assert ds.image(ds.samples[0].key).shape == (240, 320, 3)
    s = ds.samples[0]
    assert set(np.unique(s.joints[:, 2])) == {1.0}  # visibility 2 → 1
    # upstream box sanitising: x2 = min(W-1, x1 + max(0, w-1)), clean box [x1, y1, x2-x1, y2-y1]
    data = {"images": [{"id": 1, "width": 100, "height": 80}],
            "annotations": [{"image_id": 1, "bbox": [-5, 10, 200, 30], "area": 10, "keypoints": [1, 1, 2] * 17}]}
    (only,) = clean_samples(data, {1: "x"})
    assert only.bbox == (0.0, 10.0, 99.0, 29.0)


def test_augmented_joints_follow_the_pixels():
    """Joints mapped into the crop (incl. flip, rotation, half-body) sit on their drawn dots."""
    img = np.zeros((240, 320, 3), np.uint8)
    pts = FIGURE + [100, 20]
    for p in pts:
        cv2.circle(img, (int(round(p[0])), int(round(p[1]))), 2, (255, 255, 255), -1)
    joints = np.concatenate([np.round(pts), np.ones((17, 1))], axis=1)
    center, scale = box_to_center_scale(np.array([90, 10, 210, 230]), 0.75)
    cfg = AugmentConfig(prob_half_body=0.5)
    for seed in range(12):
        crop, target, weight, mapped = make_example(img, joints, center[0], scale[0], (96, 128), (24, 32),
                                                    COCO17.flip_pairs, cfg, np.random.default_rng(seed))
        gray = crop[..., 0].astype(float)
        for j in range(17):
            x, y = mapped[j, :2]
            if not (3 <= x < 93 and 3 <= y < 125):
                continue
            patch = gray[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3]
            assert patch.max() > 60, (seed, j)
        assert target.shape == (17, 32, 24) and weight.shape == (17, 1)


def test_joints_mse_loss_is_official_formula():
    torch.manual_seed(0)
    out, gt = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    w = torch.tensor([[[1.0], [0.0], [1.0]], [[1.0], [1.0], [0.0]]])
    ref = sum(0.5 * torch.nn.functional.mse_loss(out[:, j] * w[:, j, :, None], gt[:, j] * w[:, j, :, None])
              for j in range(3)) / 3
    assert JointsMSELoss()(out, gt, w).item() == pytest.approx(ref.item(), rel=1e-6)


# a small SimpleBaselines so that the training tests stay fast on two cores
TINY = ModelSpec(name="tiny_pose", task="pose2d", builder="posetool.nn.simple_baselines:pose_resnet",
                 kwargs={"depth": 18, "width": 8, "deconv_filters": (32, 32, 32)}, input=InputSpec(96, 128),
                 skeleton="coco17")


def weights_of(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_tiny_training_lowers_loss_and_resume_is_exact(tmp_path):
    ann = make_coco(tmp_path / "data")
    common = dict(data=[str(ann)], model=TINY, batch_size=4, lr=2e-3, seed=3,
                  device="cpu", lr_steps=[100], threads=2)
    full = train_pose2d(Pose2DTrainConfig(out=str(tmp_path / "full"), epochs=4, **common))
    losses = [row["loss"] for row in full["history"]]
    assert losses[-1] < losses[0]

    train_pose2d(Pose2DTrainConfig(out=str(tmp_path / "part"), epochs=2, **common))
    resumed = train_pose2d(Pose2DTrainConfig(out=str(tmp_path / "part"), epochs=4, **common),
                           resume=str(tmp_path / "part" / "checkpoint.pth"))
    assert [r["loss"] for r in resumed["history"]] == losses
    a, b = weights_of(tmp_path / "full" / "model.safetensors"), weights_of(tmp_path / "part" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_validation_reports_coco_ap(tmp_path):
    ann = make_coco(tmp_path / "data", n_images=2)
    res = train_pose2d(Pose2DTrainConfig(data=[str(ann)], val=[str(ann)], out=str(tmp_path / "run"), epochs=1, model=TINY,
                                         batch_size=4, device="cpu", threads=2))
    row = res["history"][0]
    assert 0.0 <= row["AP"] <= 1.0 and len(row["per_dataset"]) == 1
    assert (tmp_path / "run" / "best.safetensors").is_file()


def test_synth_folder_loads_frames_from_its_video(tmp_path):
    from posetool.synth import SynthConfig, generate

    generate(str(tmp_path / "s"), SynthConfig(people=2, frames=4, width=160, height=128, seed=5))
    ds = open_keypoint_dataset(str(tmp_path / "s"))
    data = json.loads((tmp_path / "s" / "gt_coco.json").read_text())
    labelled = [a for a in data["annotations"] if max(a["keypoints"]) > 0 and not a.get("iscrowd")]
    assert len(ds.samples) == len(labelled) > 0
    assert {s.key for s in ds.samples} <= {0, 1, 2, 3}  # frame indices of video.mp4
    assert ds.image(ds.samples[0].key).shape == (128, 160, 3)
