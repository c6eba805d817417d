"""Correspondences learnt from unlabelled real footage (issue #16): ``posetool train correspond VIDEO
--init MODEL`` labels the clip with the real chain and fine-tunes on it; the clip's own ``eval
correspond`` figure (pseudo ground truth) improves. A tiny CPU run on 40 frames of vtest (23 s with
the labelling on this machine, two threads)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.real_data import movenet_files, vtest_video  # noqa: F401  (session fixtures)
from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)
from tests.conftest import REPO
from tests.test_real_chain import _run, weights_home  # noqa: F401  (module fixture)

# the script that cuts correspond_real's training footage cuts this clip too
_spec = importlib.util.spec_from_file_location("correspond_real_data", REPO / "scripts" / "correspond_real_data.py")
_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_script)


def pckh(home: Path, stream: Path, clip: Path, *extra: str) -> float:
    proc = _run(home, "eval", "correspond", str(stream), "--video", str(clip), "--model", "correspond_r18_synth",
                "--maps", "affinity", "--device", "cpu", "--json", "-q", *extra)
    assert proc.returncode == 0, proc.stderr.decode()
    return float(json.loads(proc.stdout)["model_pckh"])


def test_finetuning_on_a_short_real_clip_improves_its_correspondences(weights_home, vtest_video,  # noqa: F811
                                                                      tmp_path):
    clip = tmp_path / "clip.avi"
    assert _script.cut(Path(vtest_video), 400, clip, stop=440) == 40
    out = tmp_path / "ft"
    proc = _run(weights_home, "train", "correspond", str(clip), "--init", "correspond_r18_synth",
                "--siamese-epochs", "2", "--refine-epochs", "0", "--frame-gap", "2", "--lr", "3e-4", "--batch-size", "8",
                "--threads", "2", "--device", "cpu", "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    streams = sorted((out / "pseudo").glob("clip-*.msgpack"))
    assert len(streams) == 1 and not list((out / "pseudo").glob("*.part"))  # labelled once, completely
    tuned = ("--weights", str(out / "model.safetensors"))
    # five frames apart (when measured: 0.575 -> 0.611); one frame apart it must not get worse (0.832 -> 0.842)
    before = pckh(weights_home, streams[0], clip, "--step", "5")
    after = pckh(weights_home, streams[0], clip, "--step", "5", *tuned)
    assert after > before + 0.02, (before, after)
    before, after = pckh(weights_home, streams[0], clip), pckh(weights_home, streams[0], clip, *tuned)
    assert after >= before, (before, after)
