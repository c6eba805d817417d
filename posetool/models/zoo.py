"""Every registered model, in one list. Stage issues add their entries here.

Nothing here imports torch: builders are ``"module:function"`` strings.
"""

from __future__ import annotations

from posetool.models.registry import InputSpec, ModelSpec, WeightsSpec, register_model

_SPECS: list[ModelSpec] = []

# --- pose2d (issue 6): official SimpleBaselines / HRNet COCO checkpoints, loaded strictly ------
# The SimpleBaselines configs fed BGR pixels (COLOR_RGB: false), the HRNet configs RGB; getting
# this wrong costs about 7 AP. 384x288 models use sigma-3 heatmaps (96x72).
_HR_ZOO = "https://github.com/leoxiaobin/deep-high-resolution-net.pytorch (model zoo: Google Drive / OneDrive links)"
for _size, (_w, _h) in (("256x192", (192, 256)), ("384x288", (288, 384))):
    for _depth in (50, 101, 152):
        _SPECS.append(ModelSpec(
            name=f"simplebaseline_r{_depth}_{_size}", task="pose2d",
            builder="posetool.models.simple_baselines:pose_resnet", kwargs={"depth": _depth},
            description=f"SimpleBaselines ResNet-{_depth} {_size}, official COCO checkpoint (Xiao et al. 2018)",
            input=InputSpec(_w, _h, channel_order="BGR"), skeleton="coco17",
            weights=WeightsSpec(f"pose_resnet_{_depth}_{_size}.pth", source="user", licence="MIT", url=_HR_ZOO),
        ))
    for _width in (32, 48):
        _SPECS.append(ModelSpec(
            name=f"hrnet_w{_width}_{_size}", task="pose2d",
            builder="posetool.models.hrnet:pose_hrnet", kwargs={"width": _width},
            description=f"HRNet-W{_width} {_size}, official COCO checkpoint (Sun et al. 2019)",
            input=InputSpec(_w, _h, channel_order="RGB"), skeleton="coco17",
            weights=WeightsSpec(f"pose_hrnet_w{_width}_{_size}.pth", source="user", licence="MIT", url=_HR_ZOO),
        ))
# The shipped default: a slim ResNet-18 SimpleBaselines (trunk width 32, three 128-filter
# deconvolutions) trained on synth, stored in float16 (see docs/pose2d.md for the command).
_SPECS.append(ModelSpec(
    name="simplebaseline_r18_synth", task="pose2d",
    builder="posetool.models.simple_baselines:pose_resnet",
    kwargs={"depth": 18, "width": 32, "deconv_filters": (128, 128, 128)},
    description="SimpleBaselines slim ResNet-18 256x192 trained on posetool synth (CPU default)",
    input=InputSpec(192, 256, channel_order="RGB"), skeleton="coco17",
    weights=WeightsSpec("simplebaseline_r18_synth.safetensors", sha256=None, source="package", licence="Apache-2.0",
                        command="(not trained yet)"),
))
# --- end pose2d ---

# --- detect (issue 7): backends without weights --------------------------------------------
_SPECS += [
    ModelSpec(name="hog", task="detect", builder="posetool.detect.hog:HogDetector", runtime="opencv",
              description="OpenCV HOG + linear SVM people detector (Dalal & Triggs 2005); no weights"),
    ModelSpec(name="gt", task="detect", builder="posetool.detect.gt:GtDetector", runtime="ground-truth",
              description="oracle: boxes and track ids from COCO / PoseTrack18 / MOT ground truth (--gt PATH)"),
]
# --- end detect ---

for _spec in _SPECS:
    register_model(_spec)
