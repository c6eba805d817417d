"""The track stage's learned models: SmoothNet trained on posetool synth tracks (``track --smooth smoothnet``) and the left/right labeller (``track --lr-consistency learned``).

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
        "smoothnet_synth.safetensors", sha256="d595e585f4d9cd3c30f01aa2cc68af1e3335a2f029de8c7788136a6be39f8375", source="package", licence="Apache-2.0",
        command="python scripts/smoothnet_data.py --out runs/smooth-data; scripts/train_smoothnet_synth.sh",
    ),
    file_builder="posetool.track.train:smoothnet_from_file",
))

register_model(ModelSpec(
    name="leftright_synth", task="leftright", builder="posetool.nn.leftright:build_leftright",
    kwargs={"in_channels": 98, "pairs": 8, "channels": 128, "dilations": (1, 3, 9, 9), "dropout": 0.1},
    description="left/right labeller: a dilated temporal network over a track's poses as the pose model labelled them, "
                "trained on synth tracks (GT boxes and the synth chain, the synth pose model)",
    skeleton="coco17",
    weights=WeightsSpec(
        "leftright_synth.safetensors", sha256="205ae742484c0eb07375289f9785c29b3e861803e60323a676c615481ae80558", source="package", licence="Apache-2.0",
        command="python scripts/leftright_data.py --out runs/lr-data --chain; scripts/train_leftright_synth.sh (best.safetensors: epoch 8 of 12)",
    ),
    file_builder="posetool.track.train_leftright:leftright_from_file",
))
