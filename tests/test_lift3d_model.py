"""VideoPose3D architecture: official keys/shapes, strided == dilated, receptive field, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from posetool.errors import WeightsError
from posetool.hub.checkpoint import load_into, load_state
from posetool.nn.videopose3d import (
    TemporalModel, TemporalModelOptimized1f, VideoPose3D, count_parameters, layer_pads, receptive_field, sequence_padding,
)

SPECS = Path(__file__).parent / "data" / "specs"


def read_spec(name: str) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
    rows, params = [], None
    for line in (SPECS / name).read_text().splitlines():
        if line.startswith("#"):
            if "parameters" in line:
                params = int(line.split(",")[1].split()[0])
            continue
        if not line.strip():
            continue
        key, shape = line.split("\t")
        rows.append((key, tuple(int(v) for v in shape.strip("()").split(",") if v.strip())))
    return rows, params


@pytest.mark.parametrize(
    "spec, joints_out, widths",
    [("videopose3d_pos_243f.tsv", 17, [3, 3, 3, 3, 3]), ("videopose3d_pos_27f.tsv", 17, [3, 3, 3]),
     ("videopose3d_traj_243f.tsv", 1, [3, 3, 3, 3, 3])],
)
@pytest.mark.parametrize("cls", [TemporalModel, TemporalModelOptimized1f])
def test_state_dict_equals_spec(spec, joints_out, widths, cls):
    rows, params = read_spec(spec)
    with torch.device("meta"):  # shapes only: no 17M-parameter allocation
        model = cls(17, 2, joints_out, widths, channels=1024)
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == rows  # same keys, same order, same shapes
    assert count_parameters(model) == params


def test_wrapper_keys_are_prefixed_official_keys():
    with torch.device("meta"):
        m = VideoPose3D(filter_widths=[3, 3, 3], trajectory=True)
    rows, _ = read_spec("videopose3d_pos_27f.tsv")
    keys = list(m.state_dict())
    assert [k for k in keys if k.startswith("model_pos.")] == [f"model_pos.{k}" for k, _ in rows]
    assert len([k for k in keys if k.startswith("model_traj.")]) == len(rows)


def _randomise(model: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("widths", [[3, 3, 3], [3, 5, 3], [1, 3, 7]])
def test_strided_1f_equals_dilated(widths, causal):
    ref = TemporalModel(17, 2, 17, widths, causal=causal, channels=48).eval()
    _randomise(ref)
    opt = TemporalModelOptimized1f(17, 2, 17, widths, causal=causal, channels=48).eval()
    opt.load_state_dict(ref.state_dict())
    rf = ref.receptive_field()
    x = torch.randn(5, rf, 17, 2)
    a, b = ref(x), opt(x)
    assert a.shape == b.shape == (5, 1, 17, 3)
    assert torch.equal(a, b)
    # online path: only the window ending at the last frame, computed strided
    longer = torch.cat([torch.randn(5, 4, 17, 2), x], dim=1)
    assert torch.equal(ref.forward_last(longer), a)


@pytest.mark.parametrize("widths", [[3], [3, 3], [3, 3, 3, 3, 3], [5, 3, 7], [1, 1, 1]])
def test_receptive_field_and_causal_shift_formula(widths):
    pads = [widths[0] // 2]
    for i in range(1, len(widths)):
        pads.append((widths[i] - 1) * math.prod(widths[:i]) // 2)
    assert layer_pads(widths) == pads
    assert receptive_field(widths) == 1 + 2 * sum(pads) == math.prod(widths)
    m = TemporalModel(4, 2, 3, widths, causal=True, channels=8)
    assert m.receptive_field() == math.prod(widths)
    # causal residual shift of block i is its full pad (right-aligned slice)
    assert m.causal_shift == pads
    assert TemporalModel(4, 2, 3, widths, channels=8).causal_shift == [0] * len(widths)
    assert TemporalModelOptimized1f(4, 2, 3, widths, causal=True, channels=8).causal_shift == [w // 2 for w in widths]
    pad = (math.prod(widths) - 1) // 2
    assert sequence_padding(widths, False) == (pad, pad)
    assert sequence_padding(widths, True) == (2 * pad, 0)


def test_causal_output_depends_only_on_past():
    m = TemporalModel(17, 2, 17, [3, 3, 3], causal=True, channels=16).eval()
    _randomise(m)
    x = torch.randn(1, 60, 17, 2)
    y = m(x)
    x2 = x.clone()
    x2[:, 40:] += 1.0  # change the future of input frame 39
    y2 = m(x2)
    # output j sees input j..j+26; outputs whose window ends before frame 40 are unchanged
    assert torch.equal(y[:, : 40 - 26], y2[:, : 40 - 26])
    assert not torch.equal(y[:, 40 - 26], y2[:, 40 - 26])


def test_odd_widths_only():
    with pytest.raises(ValueError):
        TemporalModel(17, 2, 17, [3, 4])


def _official_style_checkpoint(path: Path, *, with_traj: bool, drop_nbt: bool) -> tuple[dict, dict | None]:
    """Save a checkpoint the way VideoPose3D's run.py does (torch.save of a dict)."""
    pos = TemporalModelOptimized1f(17, 2, 17, [3, 3, 3], channels=32)
    traj = TemporalModelOptimized1f(17, 2, 1, [3, 3, 3], channels=32) if with_traj else None
    params = list(pos.parameters()) + (list(traj.parameters()) if traj else [])
    opt = torch.optim.Adam(params, lr=1e-3, amsgrad=True)
    x = torch.randn(8, 27, 17, 2)
    loss = pos(x).pow(2).mean() + (traj(x).pow(2).mean() if traj else 0)
    loss.backward()
    opt.step()

    def sd(m):
        s = m.state_dict()
        if drop_nbt:  # files written by PyTorch < 0.4.1
            s = type(s)((k, v) for k, v in s.items() if not k.endswith("num_batches_tracked"))
        return s

    torch.save({
        "epoch": 80, "lr": 1e-3 * 0.95**80, "random_state": np.random.RandomState(1234),
        "optimizer": opt.state_dict(), "model_pos": sd(pos), "model_traj": sd(traj) if traj else None,
        "random_state_semi": np.random.RandomState(4321) if traj else None,
    }, path)
    return pos.state_dict(), traj.state_dict() if traj else None


@pytest.mark.parametrize("with_traj, drop_nbt", [(False, True), (True, False)])
def test_official_checkpoint_loads_through_allow_list(tmp_path, with_traj, drop_nbt):
    path = tmp_path / "epoch_80.bin"
    pos_sd, traj_sd = _official_style_checkpoint(path, with_traj=with_traj, drop_nbt=drop_nbt)
    with pytest.raises(WeightsError):  # the RandomState needs the allow-list
        load_state(path)
    state = load_state(path, official=True)
    model = VideoPose3D(filter_widths=[3, 3, 3], channels=32, trajectory=with_traj)
    load_into(model, state, str(path))  # strict
    for k, v in pos_sd.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(model.model_pos.state_dict()[k], v)
    if with_traj:
        assert torch.equal(model.model_traj.shrink.weight, traj_sd["shrink.weight"])


def test_official_checkpoint_wrong_architecture_is_clear_error(tmp_path):
    path = tmp_path / "c.bin"
    _official_style_checkpoint(path, with_traj=False, drop_nbt=False)
    model = VideoPose3D(filter_widths=[3, 3, 3, 3], channels=32)
    with pytest.raises(WeightsError, match="do not fit"):
        load_into(model, load_state(path, official=True), str(path))


def test_shipped_model_loads_verified_and_small():
    from posetool.hub.loader import load_model
    from posetool.hub.weights import PACKAGE_WEIGHTS

    path = PACKAGE_WEIGHTS / "videopose3d_synth.safetensors"
    assert path.stat().st_size <= 10 * 1024 * 1024
    loaded = load_model("videopose3d_synth", task="lift3d", device="cpu")  # sha256 checked, strict keys
    m = loaded.module
    assert m.in_skeleton == "coco17" and m.out_skeleton == "h36m17" and m.model_traj is not None
    assert m.receptive_field() == 81 and not m.training
