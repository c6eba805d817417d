"""pose2d architectures: state-dict keys/shapes equal the official ones; strict checkpoint loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from posetool.hub.checkpoint import load_into, load_state, strip_prefixes
from posetool.nn.hrnet import pose_hrnet
from posetool.hub.registry import get_model_spec
from posetool.nn.simple_baselines import pose_resnet

SPECS = Path(__file__).parent / "data" / "specs"


def read_spec(name: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in (SPECS / f"{name}.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape = line.split("\t")
        dims = shape.strip("()").replace(" ", "")
        rows.append((key, tuple(int(d) for d in dims.split(",") if d)))
    return rows


@pytest.mark.parametrize(
    "spec_name, build",
    [
        ("pose_resnet_50_256x192", lambda: pose_resnet(50)),
        ("pose_resnet_152_384x288", lambda: pose_resnet(152)),
        ("hrnet_w32_256x192", lambda: pose_hrnet(32)),
        ("hrnet_w48_384x288", lambda: pose_hrnet(48)),
    ],
)
def test_state_dict_equals_official_spec(spec_name, build):
    with torch.device("meta"):  # no memory, no initialisation cost
        model = build()
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == read_spec(spec_name)


def test_parameter_counts_match_reference():
    with torch.device("meta"):
        counts = {
            "r50": sum(p.numel() for p in pose_resnet(50).parameters()),
            "r152": sum(p.numel() for p in pose_resnet(152).parameters()),
            "w32": sum(p.numel() for p in pose_hrnet(32).parameters()),
            "w48": sum(p.numel() for p in pose_hrnet(48).parameters()),
        }
    assert counts == {"r50": 33_999_697, "r152": 68_635_473, "w32": 28_536_113, "w48": 63_595_745}


def test_heatmap_resolution_is_a_quarter_of_the_input():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 64)
    for model in (pose_resnet(18, width=8, deconv_filters=(16, 16, 16)), pose_hrnet(8)):
        assert model.eval()(x).shape == (2, 17, 16, 16)


def test_official_style_checkpoint_loads_strictly_after_prefix_strip(tmp_path):
    """A DataParallel-style checkpoint (module. prefix, inside 'state_dict', no num_batches_tracked)
    loads into a fresh model strictly and reproduces the outputs."""
    torch.manual_seed(1)
    src = pose_hrnet(8).eval()
    state = {f"module.{k}": v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "checkpoint.pth"
    torch.save({"state_dict": state, "epoch": 3}, path)
    loaded = load_state(path, official=True)["state_dict"]
    dst = pose_hrnet(8).eval()
    load_into(dst, strip_prefixes(loaded), str(path))
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(src(x), dst(x))


def test_wrong_architecture_is_a_one_line_weights_error(tmp_path):
    from posetool.errors import WeightsError

    path = tmp_path / "r18.pth"
    torch.save(pose_resnet(18, width=8, deconv_filters=(16, 16, 16)).state_dict(), path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_into(pose_hrnet(8), load_state(path), str(path))


def test_registry_channel_order_per_checkpoint():
    assert get_model_spec("simplebaseline_r50_256x192").input.channel_order == "BGR"
    assert get_model_spec("hrnet_w32_256x192").input.channel_order == "RGB"
    spec = get_model_spec("hrnet_w48_384x288")
    assert (spec.input.width, spec.input.height) == (288, 384)
    assert spec.weights.source == "user"
