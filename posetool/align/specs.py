"""The align models: the TCC pose-sequence embedder trained on posetool synth takes.

Plain data only (no torch): the registry imports this module on its first lookup. The shipped
``align_synth`` file lives in ``posetool/weights/`` (sha256 checked on load; a missing file is an
error, never a run with initial weights). ``--weights FILE`` written by ``posetool train align``
runs the architecture recorded in the file (:func:`posetool.align.embedder.tcc_from_file`).
"""

from __future__ import annotations

from posetool.hub.registry import ModelSpec, WeightsSpec, register_model

_ARCH = {"num_keypoints": 17, "in_features": 3, "hidden": 256, "embed_dim": 128, "kernel": 3, "dilations": (1, 3),
         "fps": 25.0, "skeleton": "coco17", "dims": 2}

register_model(ModelSpec(
    name="align_synth", task="align", builder="posetool.nn.tcc:build_pose_tcc", kwargs=_ARCH,
    description="TCC embedder of 2D pose sequences (coco17, 128-d), cycle-back regression on posetool synth takes",
    skeleton="coco17", runner="posetool.align.embedder:AlignEmbedder",
    weights=WeightsSpec(
        "align_synth.safetensors", sha256="0d0e808d20fd76a1189dab352c1b8d4d02457006bfd33e3cc6d1c81ff64dcc46",
        source="package", licence="Apache-2.0",
        command="for a in squat jump lunge; do posetool synth train/$a --action $a --takes 96 --seed 100 --no-render; "
        "posetool synth val/$a --action $a --takes 6 --seed 500 --no-render; done; "
        "posetool train align train --val val --out run_tcc --epochs 80 --seed 0 --device cpu --threads 1; "
        "cp run_tcc/model.safetensors posetool/weights/align_synth.safetensors",
    ),
    file_builder="posetool.align.embedder:tcc_from_file",
))
