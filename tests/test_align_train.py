"""Training the TCC embedder on tiny takes: --resume continues exactly, the file records its
architecture, and the shared loader rebuilds it from ``--weights``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from posetool.align.specs import _ARCH
from posetool.align.train import AlignTrainConfig, train_align
from posetool.hub.loader import load_model
from posetool.hub.registry import ModelSpec
from posetool.synth.takes import write_take

TINY = ModelSpec(name="align_synth", task="align", builder="posetool.nn.tcc:build_pose_tcc",
                 kwargs={**_ARCH, "hidden": 24, "embed_dim": 8})


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("takes")
    out = []
    for action, seed in (("squat", 1), ("squat", 2), ("jump", 3), ("jump", 4)):
        write_take(str(root / f"{action}{seed}"), action, seed=seed, tempo=1.6, render=False)
        out.append(str(root / f"{action}{seed}"))
    return out


def _cfg(data: list[str], out: Path, **kw) -> AlignTrainConfig:
    return AlignTrainConfig(data=data, val=data[:2], out=str(out), model=TINY, epochs=2, iterations=3,
                            batch_size=2, frames=8, seed=5, device="cpu", **kw)


def test_resume_continues_exactly(takes: list[str], tmp_path: Path):
    full = train_align(_cfg(takes, tmp_path / "full"))
    half = _cfg(takes, tmp_path / "half", stop_after=1)
    train_align(half)
    resumed = train_align(replace(half, stop_after=None), resume=str(tmp_path / "half" / "checkpoint.pth"))
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "half" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert [r["loss"] for r in full["history"]] == [r["loss"] for r in resumed["history"]]
    assert "val_tau" in full["history"][-1]
    # a run that is not resumed from the same state differs: the comparison above can fail
    other = train_align(replace(_cfg(takes, tmp_path / "other"), seed=6))
    assert other["history"][-1]["loss"] != full["history"][-1]["loss"]


def test_trained_file_loads_with_its_architecture(takes: list[str], tmp_path: Path):
    train_align(replace(_cfg(takes, tmp_path / "run"), epochs=1, loss="classification"))
    path = tmp_path / "run" / "model.safetensors"
    loaded = load_model("align_synth", task="align", weights=str(path), device="cpu")
    assert loaded.module.config["hidden"] == 24 and loaded.module.config["embed_dim"] == 8
    with torch.inference_mode():
        out = loaded.module(torch.zeros(1, 10, 17, 3))
    assert out.shape == (1, 10, 8)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 1 and log[0]["epoch"] == 1


def test_missing_shipped_weights_fail_instead_of_running_initial_weights(tmp_path: Path, monkeypatch):
    import posetool.hub.weights as weights
    from posetool.errors import WeightsError
    from posetool.hub.registry import register_model

    spec = load_model("align_synth", task="align", device="cpu").spec
    assert spec.weights is not None and spec.weights.source == "package" and len(spec.weights.sha256) == 64
    monkeypatch.setattr(weights, "PACKAGE_WEIGHTS", tmp_path / "package")
    monkeypatch.setenv("POSETOOL_HOME", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match="weights for model align_synth not found"):
        load_model("align_synth", task="align", device="cpu")
    # a torch model cannot even be registered without naming its weights
    with pytest.raises(ValueError, match="declares no weights"):
        register_model(ModelSpec(name="align_unweighted_test", task="align", builder=TINY.builder))


def test_init_starts_from_a_trained_file_and_best_keeps_the_best_validation(takes: list[str], tmp_path: Path):
    first = train_align(replace(_cfg(takes, tmp_path / "first"), epochs=3))
    start = tmp_path / "first" / "model.safetensors"
    # learning rate 0: the run's weights stay what it started from
    train_align(replace(_cfg(takes, tmp_path / "still", init=str(start)), epochs=1, lr=0.0))
    train_align(replace(_cfg(takes, tmp_path / "fresh"), epochs=1, lr=0.0))
    a, b = load_file(str(start)), load_file(str(tmp_path / "still" / "model.safetensors"))
    fresh = load_file(str(tmp_path / "fresh" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], fresh[k]) for k in a)
    # best.safetensors is written at every new best validation tau, so its last write is the best epoch
    taus = [r["val_tau"] for r in first["history"]]
    marked = [i for i, r in enumerate(first["history"]) if r.get("best")]
    assert marked[0] == 0 and marked[-1] == taus.index(max(taus))
    assert all(taus[i] > max(taus[:i], default=-1.0) for i in marked)
    assert (tmp_path / "first" / "best.safetensors").is_file()
    from posetool.errors import UsageError
    with pytest.raises(UsageError, match="--init .*no such file"):
        train_align(replace(_cfg(takes, tmp_path / "missing", init=str(tmp_path / "nope.safetensors")), epochs=1))
