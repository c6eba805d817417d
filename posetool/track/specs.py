"""The track stage's learned model: SmoothNet trained on posetool synth tracks (``track --smooth smoothnet``).

Plain data only (no torch): the registry imports this module on its first lookup.
"""

from __future__ import annotations

from posetool.hub.registry import ModelSpec, WeightsSpec, register_model

register_model(ModelSpec(
    name="smoothnet_synth", task="smooth", builder="posetool.nn.smoothnet:build_smoothnet",
    kwargs={"window": 16, "hidden": 512, "res_hidden": 256, "blocks": 3, "dropout": 0.5},
    description="SmoothNet T=16 (ECCV 2022), trained on tracked synth 2D poses (GT boxes, the synth pose model)",
    skeleton="coco17",
    weights=WeightsSpec(
        "smoothnet_synth.safetensors", sha256="f8feac9e726bb60528922821d1ae7b101b60d6791e7ff0b0f8d8b17e29bc473e", source="package", licence="Apache-2.0",
        command="python scripts/smoothnet_data.py --out runs/smooth-data; scripts/train_smoothnet_synth.sh",
    ),
    file_builder="posetool.track.smooth_train:smoothnet_from_file",
))
