"""The align models: TCC pose-sequence embedders trained on posetool synth takes (``align_synth``:
squats, jumps and lunges; ``align_any``: the same fine-tuned on random whole-body movements too).

Plain data only (no torch): the registry imports this module on its first lookup. The shipped
files live in ``posetool/weights/`` (sha256 checked on load; a missing file is an
error, never a run with initial weights). ``--weights FILE`` written by ``posetool train align``
runs the architecture recorded in the file (:func:`posetool.align.embedder.tcc_from_file`).
"""

from __future__ import annotations

from posetool.hub.registry import ModelSpec, WeightsSpec, register_model

_ARCH = {"num_keypoints": 17, "in_features": 3, "hidden": 256, "embed_dim": 128, "kernel": 3, "dilations": (1, 3),
         "fps": 25.0, "skeleton": "coco17", "dims": 2}

# The three actions' takes, which both embedders train and validate on.
_ACTION_TAKES = ("for a in squat jump lunge; do posetool synth train/$a --action $a --takes 96 --seed 100 --no-render; "
                 "posetool synth val/$a --action $a --takes 12 --seed 600 --no-render; done; ")


def _register(name: str, description: str, sha256: str, command: str) -> None:
    """A shipped 2D TCC embedder of the shared architecture, its file in posetool/weights/."""
    register_model(ModelSpec(
        name=name, task="align", builder="posetool.nn.tcc:build_pose_tcc", kwargs=_ARCH, description=description,
        skeleton="coco17", runner="posetool.align.embedder:AlignEmbedder",
        weights=WeightsSpec(f"{name}.safetensors", sha256=sha256, source="package", licence="Apache-2.0",
                            command=command),
        file_builder="posetool.align.embedder:tcc_from_file",
    ))


_register(
    "align_synth", "TCC embedder of 2D pose sequences (coco17, 128-d), cycle-back regression on posetool synth takes",
    "0d0e808d20fd76a1189dab352c1b8d4d02457006bfd33e3cc6d1c81ff64dcc46",
    _ACTION_TAKES + "posetool train align train --val val --out run_tcc --epochs 80 --seed 0 --device cpu --threads 1; "
    "cp run_tcc/best.safetensors posetool/weights/align_synth.safetensors")
_register(
    "align_any", "TCC embedder of 2D pose sequences (coco17, 128-d): align_synth fine-tuned on 400 random whole-body "
    "movements beside squats, jumps and lunges, for movements it was not trained on",
    "47a56ac294744718677596d8464b43161793d81c6018d662c3154b326098c6c7",
    _ACTION_TAKES + "for i in $(seq 0 399); do posetool synth train/random-$i --action random-$i --takes 8 --seed 100 "
    "--no-render; done; for i in $(seq 10000 10011); do posetool synth val/random-$i --action random-$i --takes 6 "
    "--seed 600 --no-render; done; posetool train align train --init align_synth --no-flip --lr 1e-4 --val val "
    "--out run_any --epochs 30 --seed 0 --device cpu --threads 1; "
    "cp run_any/model.safetensors posetool/weights/align_any.safetensors")
