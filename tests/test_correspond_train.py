"""``train correspond``: a tiny run lowers the loss, resume is exact, and the data sources load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from posetool.correspond.data import open_correspondence_dataset
from posetool.hub.registry import InputSpec, ModelSpec
from posetool.correspond.train import CorrespondTrainConfig, train_correspond

TINY = ModelSpec(name="correspond_tiny_test", task="correspond", builder="posetool.nn.correspondence:correspondence_net",
                 kwargs={"backbone": "resnet", "width": 8, "lateral": 16, "refine_width": 8, "norm": "l2"},
                 input=InputSpec(64, 64), skeleton="coco17")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "s5"
    subprocess.run([sys.executable, "-m", "posetool", "synth", str(out), "--people", "2", "--frames", "8",
                    "--width", "192", "--height", "160", "--seed", "5", "-q"], check=True)
    return out


@pytest.fixture(autouse=True)
def _restore_threads():
    """The trainer sets torch's thread count (threads=1 keeps the tiny runs fast on a busy machine)."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def config(data: Path, out: Path, **kw: object) -> CorrespondTrainConfig:
    base = dict(data=[str(data)], out=str(out), model=TINY, siamese_epochs=3, refine_epochs=2, batch_size=4,
                lr=3e-3, device="cpu", seed=1, threads=1)
    base.update(kw)
    return CorrespondTrainConfig(**base)  # type: ignore[arg-type]


def test_tiny_training_lowers_loss_and_resume_is_exact(synth: Path, tmp_path: Path) -> None:
    full = train_correspond(config(synth, tmp_path / "full", val=[str(synth)]))["history"]
    assert [h["phase"] for h in full] == ["siamese"] * 3 + ["refine"] * 2
    siamese = [h["val_loss"] for h in full[:3]]
    refine = [h["val_loss"] for h in full[3:]]
    assert siamese[-1] < siamese[0] and refine[-1] < refine[0]
    # the lr drops ×0.1 halfway through each phase
    assert full[0]["lr"] == pytest.approx(3e-3) and full[1]["lr"] == pytest.approx(3e-4)
    assert full[3]["lr"] == pytest.approx(3e-3) and full[4]["lr"] == pytest.approx(3e-4)

    # stop inside the Siamese phase (after epoch 2), then resume to the end: same as uninterrupted
    part = tmp_path / "part"
    # (validation draws its own fixed pairs and leaves the training RNG alone, so it is skipped here)
    assert len(train_correspond(config(synth, part, stop_after=2))["history"]) == 2
    resumed = train_correspond(config(synth, part), resume=str(part / "checkpoint.pth"))["history"]
    assert len(resumed) == 5
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(part / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [round(h["loss"], 10) for h in resumed] == [round(h["loss"], 10) for h in full]
    log = [json.loads(line) for line in (part / "log.jsonl").read_text().splitlines()]
    assert len(log) == 5


def test_stream_with_video_is_a_training_source(synth: Path) -> None:
    ds = open_correspondence_dataset(str(synth / "gt.jsonl"))
    assert ds.num_joints == 17 and len(ds.samples) == 16
    img = ds.image(ds.samples[0].key)
    assert img.shape == (160, 192, 3)
    ds2 = open_correspondence_dataset(f"{synth / 'gt.jsonl'}={synth / 'video.mp4'}")
    assert len(ds2.samples) == len(ds.samples)


def test_refinement_only_run_starts_from_a_siamese_run(synth: Path, tmp_path: Path) -> None:
    init = tmp_path / "siamese" / "model.safetensors"
    spec = ModelSpec(**{**TINY.__dict__, "kwargs": {**TINY.kwargs, "refine_prior": True, "temperature": 10.0}})
    train_correspond(config(synth, tmp_path / "siamese", model=spec, siamese_epochs=2, refine_epochs=0))
    hist = train_correspond(config(synth, tmp_path / "refine", model=spec, siamese_epochs=0, refine_epochs=2,
                                   init=str(init)))["history"]
    assert [h["phase"] for h in hist] == ["refine", "refine"]
    a, b = load_file(str(init)), load_file(str(tmp_path / "refine" / "model.safetensors"))
    siamese = [k for k in a if k.startswith("siamese.")]
    assert siamese and all(torch.equal(a[k], b[k]) for k in siamese)  # frozen while the refinement trains
    # the learnt correlation temperature trains with the Siamese stage and comes along with --init
    assert not torch.isclose(a["log_temperature"], torch.tensor(10.0).log())
    assert torch.equal(a["log_temperature"], b["log_temperature"])
    assert "refinement.prior_gain" in b and not torch.equal(b["refinement.prior_gain"], torch.full_like(b["refinement.prior_gain"], 10.0))


def test_pairs_are_cut_around_the_window_the_model_runs_at() -> None:
    """Without --context, training windows span 0.8-1.3 x the model's inference window: the synth
    recipe's 1.6-2.6 for a 2.0 window, 1.0-1.625 for correspond_real's 1.25; --context wins."""
    from posetool.correspond.train import training_context
    from posetool.hub.registry import get_model_spec

    assert training_context(None, get_model_spec("correspond_r18_synth")) == (1.6, 2.6)
    assert training_context(None, get_model_spec("correspond_real")) == (1.0, 1.625)
    assert training_context((1.1, 1.4), get_model_spec("correspond_real")) == (1.1, 1.4)
