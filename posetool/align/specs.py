"""The align models: the TCC pose-sequence embedder trained on posetool synth takes.

Plain data only (no torch): the registry imports this module on its first lookup. ``--weights
FILE`` written by ``posetool train align`` runs the architecture recorded in the file
(:func:`posetool.align.embedder.tcc_from_file`).
"""

from __future__ import annotations

from posetool.hub.registry import ModelSpec, register_model

_ARCH = {"num_keypoints": 17, "in_features": 3, "hidden": 256, "embed_dim": 128, "kernel": 3, "dilations": (1, 3),
         "fps": 25.0, "skeleton": "coco17", "dims": 2}

register_model(ModelSpec(
    name="align_synth", task="align", builder="posetool.nn.tcc:build_pose_tcc", kwargs=_ARCH,
    description="TCC embedder of 2D pose sequences (coco17, 128-d), cycle-back regression on posetool synth takes",
    skeleton="coco17", runner="posetool.align.embedder:AlignEmbedder",
    file_builder="posetool.align.embedder:tcc_from_file",
))
