"""The pose2d models: official SimpleBaselines / HRNet COCO checkpoints, the shipped synth
default, and MediaPipe's BlazePose landmark model.

Plain data only (no torch): the registry imports this module on its first lookup.
"""

from __future__ import annotations

from dataclasses import replace

from posetool.detect.specs import MEDIAPIPE_SOURCE, MEDIAPIPE_URL
from posetool.hub.registry import InputSpec, ModelSpec, WeightsSpec, register_model

# --- official SimpleBaselines / HRNet COCO checkpoints, loaded strictly ----------------------
# The SimpleBaselines configs fed BGR pixels (COLOR_RGB: false), the HRNet configs RGB; getting
# this wrong costs about 7 AP. 384x288 models use sigma-3 heatmaps (96x72).
_HR_ZOO = "https://github.com/leoxiaobin/deep-high-resolution-net.pytorch (model zoo: Google Drive / OneDrive links)"
for _size, (_w, _h) in (("256x192", (192, 256)), ("384x288", (288, 384))):
    for _depth in (50, 101, 152):
        register_model(ModelSpec(
            name=f"simplebaseline_r{_depth}_{_size}", task="pose2d",
            builder="posetool.nn.simple_baselines:pose_resnet", kwargs={"depth": _depth},
            description=f"SimpleBaselines ResNet-{_depth} {_size}, official COCO checkpoint (Xiao et al. 2018)",
            input=InputSpec(_w, _h, channel_order="BGR"), skeleton="coco17",
            weights=WeightsSpec(f"pose_resnet_{_depth}_{_size}.pth", source="user", licence="MIT", url=_HR_ZOO),
        ))
    for _width in (32, 48):
        register_model(ModelSpec(
            name=f"hrnet_w{_width}_{_size}", task="pose2d",
            builder="posetool.nn.hrnet:pose_hrnet", kwargs={"width": _width},
            description=f"HRNet-W{_width} {_size}, official COCO checkpoint (Sun et al. 2019)",
            input=InputSpec(_w, _h, channel_order="RGB"), skeleton="coco17",
            weights=WeightsSpec(f"pose_hrnet_w{_width}_{_size}.pth", source="user", licence="MIT", url=_HR_ZOO),
        ))

# --- the shipped synth models ---------------------------------------------------------------------
# Stage 1: a slim ResNet-18 SimpleBaselines (trunk width 32, three 128-filter deconvolutions) at 128x96
# (a quarter of the pixels of 256x192), trained from scratch on synth within the 30-minute CPU
# budget, stored in float16 (see docs/pose2d.md for the command).
SYNTH_R18 = register_model(ModelSpec(
    name="simplebaseline_r18_synth", task="pose2d",
    builder="posetool.nn.simple_baselines:pose_resnet",
    kwargs={"depth": 18, "width": 32, "deconv_filters": (128, 128, 128)},
    description="SimpleBaselines slim ResNet-18 128x96 trained on posetool synth (stage 1)",
    input=InputSpec(96, 128, channel_order="RGB"), skeleton="coco17",
    # DARK decoding on its 32x24 heatmaps, kernel 5: validation AP (GT boxes, seeds 2900 / 2901, the _ft
    # weights) 0.645 / 0.615 with argmax+1/4 against 0.681 / 0.650 (kernel 3: 0.679 / 0.651, 7: 0.680 / 0.650,
    # 11: 0.677 / -); docs/pose2d.md
    defaults={"decode": "dark", "blur_kernel": 5},
    weights=WeightsSpec("simplebaseline_r18_synth.safetensors",
                        sha256="c19c691c0bc5be10f4b9988f657b8f03e160572f6d1d0a839e5bfdaebab37460",
                        source="package", licence="Apache-2.0",
                        command="for s in $(seq 100 139); do posetool synth train_$s --seed $s --people 4 --frames 60; done; "
                                "posetool synth val_900 --seed 900 --people 4 --frames 60; "
                                "posetool train pose2d train_* --val val_900 --model simplebaseline_r18_synth --epochs 12 "
                                "--batch-size 16 --half --device cpu --threads 2 --seed 0 -o runs/pose2d_r18_synth "
                                "(then copy runs/pose2d_r18_synth/model.safetensors)"),
))

# Stage 2, the default (posetool.engine.presets.SYNTH): the same network fine-tuned on 100 more synth
# seeds (docs/pose2d.md): better keypoints (held-out GT-box AP 0.55-0.62 against 0.31-0.45).
register_model(replace(
    SYNTH_R18, name="simplebaseline_r18_synth_ft",
    description="simplebaseline_r18_synth fine-tuned on 100 more synth seeds (the CPU default)",
    weights=WeightsSpec("simplebaseline_r18_synth_ft.safetensors",
                        sha256="5239a329f68a0b4c8a3f5c17022feb72c1164217145c152921b7507f97017388",
                        source="package", licence="Apache-2.0",
                        command="(simplebaseline_r18_synth's command, then) "
                                "for s in $(seq 2000 2099); do posetool synth ft_$s --seed $s --people 4 --frames 60; done; "
                                "posetool synth val_2900 --seed 2900 --people 4 --frames 60; "
                                "posetool train pose2d ft_* --val val_2900 --model simplebaseline_r18_synth --epochs 10 "
                                "--init runs/pose2d_r18_synth/model.safetensors --batch-size 16 --half --device cpu --threads 1 "
                                "--seed 0 -o runs/pose2d_r18_synth_ft (then copy runs/pose2d_r18_synth_ft/best.safetensors)"),
))

# --- MediaPipe BlazePose GHUM 3D landmarks ------------------------------------------------------
# The .tflite graph is the "weights file", converted to PyTorch on load; it comes out of the same
# mediapipe wheel as the detector (see posetool.detect.specs). It runs on rotated ROIs, not
# through the top-down estimator, hence its own runner.
register_model(ModelSpec(
    name="blazepose_full", task="pose2d", builder="posetool.nn.blazepose:build_module",
    kwargs={"input_shape": (1, 256, 256, 3), "num_outputs": 5},
    description="MediaPipe BlazePose GHUM 3D landmarks (full): 33 keypoints + world metres, TFLite->PyTorch",
    input=InputSpec(256, 256, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), channel_order="RGB"),
    skeleton="blazepose33",
    weights=WeightsSpec("pose_landmark_full.tflite",
                        sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
                        source=MEDIAPIPE_SOURCE, licence="Apache-2.0", url=MEDIAPIPE_URL,
                        command="posetool weights pull blazepose"),
    runner="posetool.pose2d.blazepose:BlazePoseLandmarks",
))
