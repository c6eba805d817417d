"""The converted BlazePose models against the TFLite interpreter (LiteRT, XNNPACK) on real photographs.

Inputs are the real pipeline inputs: the letterboxed 224×224 detector input of scikit-image's
photographs and 256×256 landmark crops around the people in them. Converted and interpreter
outputs are compared tensor by tensor. Tolerances (absolute):

- probabilities (detector scores, visibility, presence, pose flag, heatmap; logits through a
  sigmoid as MediaPipe uses them): 1e-3;
- detector box/keypoint coordinates of the anchors MediaPipe keeps (score ≥ 0.5): 1e-4 px of the
  224 input; of all 2254 anchors (most are far outside the image): 2e-3 px;
- landmark x, y, z in pixels of the 256 crop: 2e-3 px. 1e-4 px is below the float32 noise of this
  network: LiteRT's own XNNPACK and built-in kernels disagree by 2.4e-4 to 4e-4 px on the same
  crops (see docs/blazepose.md);
- segmentation probabilities: 5e-3; world landmarks: 1e-4 m.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (test extra) is not installed")
skdata = pytest.importorskip("skimage.data", reason="scikit-image (test extra) is not installed")


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(v.astype(np.float64), -100, 100)))


def _photos() -> list[np.ndarray]:
    import cv2

    return [skdata.astronaut(), cv2.cvtColor(skdata.camera(), cv2.COLOR_GRAY2RGB)]


def _interpret(path: str, batch: np.ndarray) -> list[list[np.ndarray]]:
    it = litert.Interpreter(model_path=path, num_threads=2)
    it.allocate_tensors()
    index = it.get_input_details()[0]["index"]
    outs = []
    for x in batch:
        it.set_tensor(index, x[None])
        it.invoke()
        outs.append([it.get_tensor(d["index"])[0] for d in it.get_output_details()])
    return outs


@pytest.fixture(scope="module")
def detector(blazepose_files):  # noqa: F811
    from posetool.detect.blazepose import BlazePoseDetector
    from posetool.hub.loader import load_model

    return BlazePoseDetector.from_loaded(load_model("blazepose", task="detect", weights=blazepose_files["detector"],
                                                    device="cpu"))


@pytest.fixture(scope="module")
def landmarks(blazepose_files):  # noqa: F811
    from posetool.hub.loader import load_model
    from posetool.pose2d.blazepose import BlazePoseLandmarks

    return BlazePoseLandmarks.from_loaded(load_model("blazepose_full", task="pose2d",
                                                     weights=blazepose_files["landmarks"], device="cpu"))


def test_detector_outputs_match_litert(detector, blazepose_files):  # noqa: F811
    batch = np.stack([detector.preprocess(im)[0] for im in _photos()])
    boxes, scores = detector.run_network(batch)  # one batch of 2 through the converted model
    assert boxes.shape == (2, 2254, 12) and scores.shape == (2, 2254, 1)
    for k, (ref_boxes, ref_scores) in enumerate(_interpret(blazepose_files["detector"], batch)):
        np.testing.assert_allclose(_sigmoid(scores[k]), _sigmoid(ref_scores), atol=1e-3, rtol=0)
        np.testing.assert_allclose(boxes[k], ref_boxes, atol=2e-3, rtol=0)
        kept = _sigmoid(ref_scores[:, 0]) >= 0.5
        np.testing.assert_allclose(boxes[k][kept], ref_boxes[kept], atol=1e-4, rtol=0)
    assert (_sigmoid(scores[0, :, 0]) >= 0.5).any(), "the astronaut must be detected"


def test_landmark_outputs_match_litert(detector, landmarks, blazepose_files):  # noqa: F811
    from posetool.detect.roi import RotatedRect, roi_from_box

    photos = _photos()
    person = detector.detect([photos[0]], bgr=False)[0][0].roi
    crops = np.stack([
        landmarks.preprocess(photos[0], person),
        landmarks.preprocess(photos[1], roi_from_box([120, 40, 330, 500])),
        landmarks.preprocess(photos[0], RotatedRect(256, 256, 300, 200, 0.4)),  # rotated, letterboxed
    ])
    outs = landmarks.run_network(crops)
    assert [o.shape for o in outs] == [(3, 195), (3, 1), (3, 256, 256, 1), (3, 64, 64, 39), (3, 117)]
    for k, ref in enumerate(_interpret(blazepose_files["landmarks"], crops)):
        lm, ref_lm = outs[0][k].reshape(39, 5), ref[0].reshape(39, 5)
        np.testing.assert_allclose(lm[:, :3], ref_lm[:, :3], atol=2e-3, rtol=0)
        np.testing.assert_allclose(_sigmoid(lm[:, 3:]), _sigmoid(ref_lm[:, 3:]), atol=1e-3, rtol=0)
        np.testing.assert_allclose(outs[1][k], ref[1], atol=1e-3, rtol=0)  # already a probability
        np.testing.assert_allclose(_sigmoid(outs[2][k]), _sigmoid(ref[2]), atol=5e-3, rtol=0)
        np.testing.assert_allclose(_sigmoid(outs[3][k]), _sigmoid(ref[3]), atol=1e-3, rtol=0)
        np.testing.assert_allclose(outs[4][k], ref[4], atol=1e-4, rtol=0)
