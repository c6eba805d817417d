"""The PyTorch MoveNet (converted network + torch decoding) against the TFLite graph run by LiteRT.

On real frames (vtest.avi, Pose2Sim's clips, scikit-image's photographs) at several input sizes,
the torch model's decoded people must equal the graph's own output: the same people in the same
order, coordinates (keypoints and boxes, normalised) within 2e-3 and scores within 1e-3. The torch
side runs each size as one batch; LiteRT runs frame by frame (its input resized per shape).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.real_data import movenet_files, pose2sim_root, read_frames, vtest_video  # noqa: F401
from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (test extra) is not installed")
skdata = pytest.importorskip("skimage.data", reason="scikit-image (test extra) is not installed")

COORD_TOL, SCORE_TOL = 2e-3, 1e-3
COORDS = np.r_[np.arange(51).reshape(17, 3)[:, :2].ravel(), 51, 52, 53, 54]
SCORES = np.r_[np.arange(2, 51, 3), 55]


@pytest.fixture(scope="module")
def model(movenet_files):  # noqa: F811
    from posetool.hub.loader import load_model

    return load_model("movenet", weights=movenet_files["path"], device="cpu")


@pytest.fixture(scope="module")
def frames(vtest_video, pose2sim_root) -> dict[str, np.ndarray]:  # noqa: F811
    """RGB frames: three of vtest (3, 7 and 8 people), two of Pose2Sim, two photographs."""
    out = {f"vtest{i}": im[..., ::-1] for i, im in zip((0, 240, 720), read_frames(vtest_video, [0, 240, 720]))}
    for rel, index in (("Demo_MultiPerson/videos/cam01.mp4", 50), ("Demo_SinglePerson/videos/cam02.mp4", 30)):
        out[rel.split("/")[0] + str(index)] = read_frames(str(pose2sim_root / rel), [index])[0][..., ::-1]
    out["astronaut"], out["coffee"] = skdata.astronaut(), skdata.coffee()
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _litert(path: str, x: np.ndarray) -> np.ndarray:
    it = litert.Interpreter(model_path=path, num_threads=2)
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, list(x.shape))
    it.allocate_tensors()
    it.set_tensor(index, x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.mark.parametrize("size", [256, 512])
def test_decoded_people_equal_litert(model, frames, movenet_files, size):  # noqa: F811
    import torch

    from posetool.detect.movenet import MoveNetDetector

    det = MoveNetDetector.from_loaded(model, input_size=size, max_people=6)
    inputs = {k: det.preprocess(v) for k, v in frames.items()}
    by_shape: dict[tuple, list[str]] = {}
    for k, x in inputs.items():
        by_shape.setdefault(x.shape, []).append(k)
    for names in by_shape.values():
        ours = det.run_network(np.stack([inputs[k] for k in names]))  # one torch batch per input shape
        for k, rows in zip(names, ours):
            ref = _litert(movenet_files["path"], inputs[k][None])[0]
            assert rows.shape == ref.shape == (6, 56), k
            np.testing.assert_allclose(rows[:, COORDS], ref[:, COORDS], atol=COORD_TOL, rtol=0, err_msg=k)
            np.testing.assert_allclose(rows[:, SCORES], ref[:, SCORES], atol=SCORE_TOL, rtol=0, err_msg=k)
    with torch.inference_mode():  # the module's own forward is the same decoding
        x = torch.from_numpy(inputs["vtest240"]).permute(2, 0, 1)[None]
        np.testing.assert_allclose(model.module(x)[0].numpy(), _litert(movenet_files["path"], inputs["vtest240"][None])[0],
                                   atol=COORD_TOL, rtol=0)


def test_more_people_than_the_graph(model, frames, movenet_files):  # noqa: F811
    """--max-people 8 decodes 8 people; the graph's 6 come first, at the same places.

    Keypoint scores are the best weighted heatmap over all decoded people at the chosen cell, so
    extra people can only raise them.
    """
    from posetool.detect.movenet import MoveNetDetector

    det = MoveNetDetector.from_loaded(model, input_size=768, max_people=8)
    x = det.preprocess(frames["vtest720"])  # 8 people walking
    ours = det.run_network(x[None])[0]
    ref = _litert(movenet_files["path"], x[None])[0]
    assert ours.shape == (8, 56)
    np.testing.assert_allclose(ours[:6, COORDS], ref[:, COORDS], atol=COORD_TOL, rtol=0)
    assert (ours[:6, SCORES] >= ref[:, SCORES] - SCORE_TOL).all()
    assert (ours[6:, 55] > 0.15).sum() >= 1, "a seventh person the graph cannot return is found"


def test_litert_runtime_equals_the_graph(model, frames, movenet_files):  # noqa: F811
    """``--runtime litert``: LiteRT runs the network, the heads are read out and decoded in torch."""
    from posetool.detect.movenet import MoveNetDetector
    from posetool.hub.loader import load_model

    det = MoveNetDetector.from_loaded(load_model("movenet", weights=movenet_files["path"], device="cpu"),
                                      input_size=512, max_people=6, runtime="litert")
    assert det.runtime == "litert"
    x = np.stack([det.preprocess(frames[k]) for k in ("vtest0", "vtest720")])
    ours = det.run_network(x)
    for k in range(2):
        ref = _litert(movenet_files["path"], x[k:k + 1])[0]
        np.testing.assert_allclose(ours[k][:, COORDS], ref[:, COORDS], atol=COORD_TOL, rtol=0)
        np.testing.assert_allclose(ours[k][:, SCORES], ref[:, SCORES], atol=SCORE_TOL, rtol=0)


def test_landmark_litert_runtime_equals_torch(frames, movenet_files, blazepose_files):  # noqa: F811
    """BlazePose landmarks on MoveNet's people: LiteRT runtime vs the converted module."""
    from posetool.detect.movenet import MoveNetDetector, rows_to_people
    from posetool.detect.roi import keypoints_roi, roi_from_box
    from posetool.hub.loader import load_model
    from posetool.pose2d.blazepose import BlazePoseLandmarks

    path = blazepose_files["landmarks"]
    det = MoveNetDetector.from_loaded(load_model("movenet", weights=movenet_files["path"], device="cpu"))
    image = frames["Demo_MultiPerson50"]
    people = rows_to_people(det.run_network(det.preprocess(image)[None])[0], image.shape[1], image.shape[0])
    rois = [keypoints_roi(k) or roi_from_box(b) for b, s, k in zip(people.boxes, people.scores, people.keypoints) if s > 0.15]
    crops = np.stack([BlazePoseLandmarks.preprocess(image, r) for r in rois])
    outs = {rt: BlazePoseLandmarks.from_loaded(load_model("blazepose_full", weights=str(path), device="cpu"),
                                               runtime=rt).run_network(crops) for rt in ("torch", "litert")}
    np.testing.assert_allclose(outs["torch"][0], outs["litert"][0], atol=2e-3, rtol=0)  # landmarks, crop pixels
    np.testing.assert_allclose(outs["torch"][4], outs["litert"][4], atol=1e-4, rtol=0)  # world landmarks, metres
