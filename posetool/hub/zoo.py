"""Every registered model, in one list. Stage issues add their entries here.

Nothing here imports torch: builders are ``"module:function"`` strings.
"""

from __future__ import annotations

from posetool.hub.registry import InputSpec, ModelSpec, WeightsSpec, register_model

_SPECS: list[ModelSpec] = []

# --- pose2d (issue 6): official SimpleBaselines / HRNet COCO checkpoints, loaded strictly ------
# The SimpleBaselines configs fed BGR pixels (COLOR_RGB: false), the HRNet configs RGB; getting
# this wrong costs about 7 AP. 384x288 models use sigma-3 heatmaps (96x72).
_HR_ZOO = "https://github.com/leoxiaobin/deep-high-resolution-net.pytorch (model zoo: Google Drive / OneDrive links)"
for _size, (_w, _h) in (("256x192", (192, 256)), ("384x288", (288, 384))):
    for _depth in (50, 101, 152):
        _SPECS.append(ModelSpec(
            name=f"simplebaseline_r{_depth}_{_size}", task="pose2d",
            builder="posetool.nn.simple_baselines:pose_resnet", kwargs={"depth": _depth},
            description=f"SimpleBaselines ResNet-{_depth} {_size}, official COCO checkpoint (Xiao et al. 2018)",
            input=InputSpec(_w, _h, channel_order="BGR"), skeleton="coco17",
            weights=WeightsSpec(f"pose_resnet_{_depth}_{_size}.pth", source="user", licence="MIT", url=_HR_ZOO),
        ))
    for _width in (32, 48):
        _SPECS.append(ModelSpec(
            name=f"hrnet_w{_width}_{_size}", task="pose2d",
            builder="posetool.nn.hrnet:pose_hrnet", kwargs={"width": _width},
            description=f"HRNet-W{_width} {_size}, official COCO checkpoint (Sun et al. 2019)",
            input=InputSpec(_w, _h, channel_order="RGB"), skeleton="coco17",
            weights=WeightsSpec(f"pose_hrnet_w{_width}_{_size}.pth", source="user", licence="MIT", url=_HR_ZOO),
        ))
# The shipped default: a slim ResNet-18 SimpleBaselines (trunk width 32, three 128-filter
# deconvolutions) at 128x96 (a quarter of the pixels of 256x192), trained from scratch on
# synth within the 30-minute CPU budget, stored in float16 (see docs/pose2d.md for the command).
_SPECS.append(ModelSpec(
    name="simplebaseline_r18_synth", task="pose2d",
    builder="posetool.nn.simple_baselines:pose_resnet",
    kwargs={"depth": 18, "width": 32, "deconv_filters": (128, 128, 128)},
    description="SimpleBaselines slim ResNet-18 128x96 trained on posetool synth (CPU default)",
    input=InputSpec(96, 128, channel_order="RGB"), skeleton="coco17",
    weights=WeightsSpec("simplebaseline_r18_synth.safetensors",
                        sha256="c19c691c0bc5be10f4b9988f657b8f03e160572f6d1d0a839e5bfdaebab37460",
                        source="package", licence="Apache-2.0",
                        command="for s in $(seq 100 139); do posetool synth train_$s --seed $s --people 4 --frames 60; done; "
                                "posetool synth val_900 --seed 900 --people 4 --frames 60; "
                                "posetool train pose2d train_* --val val_900 --model simplebaseline_r18_synth --epochs 12 "
                                "--batch-size 16 --half --device cpu --threads 2 --seed 0 -o runs/pose2d_r18_synth "
                                "(then copy runs/pose2d_r18_synth/model.safetensors)"),
))
# --- end pose2d ---

# --- detect (issue 7): backends without weights --------------------------------------------
_SPECS += [
    ModelSpec(name="hog", task="detect", builder="posetool.detect.hog:HogDetector", runtime="opencv",
              description="OpenCV HOG + linear SVM people detector (Dalal & Triggs 2005); no weights"),
    ModelSpec(name="gt", task="detect", builder="posetool.detect.gt:GtDetector", runtime="ground-truth",
              description="oracle: boxes and track ids from COCO / PoseTrack18 / MOT ground truth (--gt PATH)"),
]
_SPECS.append(ModelSpec(
    name="centernet_r18_synth", task="detect", builder="posetool.nn.centernet:centernet",
    kwargs={"depth": 18, "width": 32, "deconv_filters": (128, 64, 64), "head_conv": 32},
    description="CenterNet (Zhou et al. 2019), slim ResNet-18 trunk, trained on posetool synth",
    input=InputSpec(320, 256, channel_order="RGB"),
    weights=WeightsSpec("centernet_r18_synth.safetensors",
                        sha256="81f4e2bc3176f875679374bac53c62083cef93bb60c99b6d1b0ec57d08af5594",
                        source="package", licence="Apache-2.0",
                        command="for s in 1 2 3 4 5 6 7 8; do posetool synth train_s$s --people $((2 + s % 4)) --frames 100 "
                                "--seed $s; done; posetool synth val_s101 --people 4 --frames 60 --seed 101; "
                                "posetool synth val_s102 --people 3 --frames 60 --seed 102; posetool train detect "
                                "train_s1 ... train_s8 --val val_s101 --val val_s102 --epochs 14 --batch-size 16 --seed 0"),
))
# --- end detect ---

# --- lift3d (issue 5): VideoPose3D; official checkpoints (CC BY-NC 4.0, user-downloaded) ------
# Architectures as the documented run.py commands use them; official .bin files load strictly
# through the allow-list (their pickled numpy RandomState becomes an inert stand-in).
_VP3D_URL = "https://dl.fbaipublicfiles.com/video-pose-3d/"
_VP3D_243 = {"filter_widths": (3, 3, 3, 3, 3), "channels": 1024}
for _name, _file, _kw, _desc in (
    ("videopose3d_h36m_detectron_coco", "pretrained_h36m_detectron_coco.bin", {"in_skeleton": "coco17"},
     "VideoPose3D 243f, COCO 2D in (Detectron) -> H36M 3D, official in-the-wild checkpoint"),
    ("videopose3d_h36m_cpn", "pretrained_h36m_cpn.bin", {"in_skeleton": "h36m17"},
     "VideoPose3D 243f, CPN 2D in Human3.6M joint order -> H36M 3D (46.8 mm), official"),
    ("videopose3d_h36m_cpn_causal", "cpn-ft-243-dbb-causal.bin", {"in_skeleton": "h36m17", "causal": True},
     "VideoPose3D 243f causal, CPN 2D in H36M order, official (online use)"),
    ("videopose3d_h36m_detectron_pt_conf", "d-pt-243.bin", {"in_skeleton": "coco17", "in_features": 3},
     "VideoPose3D 243f, COCO 2D + confidence in (Detectron COCO-pretrained), official"),
):
    _SPECS.append(ModelSpec(
        name=_name, task="lift3d", builder="posetool.nn.videopose3d:build_videopose3d",
        kwargs={**_VP3D_243, "out_skeleton": "h36m17", **_kw}, description=_desc, skeleton=_kw["in_skeleton"],
        weights=WeightsSpec(_file, source="user", licence="CC BY-NC 4.0", url=_VP3D_URL + _file),
    ))
# The shipped default, trained on posetool synth (see docs/lift3d.md for the exact command).
_SPECS.append(ModelSpec(
    name="videopose3d_synth", task="lift3d", builder="posetool.nn.videopose3d:build_videopose3d",
    kwargs={"in_skeleton": "coco17", "out_skeleton": "h36m17", "filter_widths": (3, 3, 3, 3), "channels": 128,
            "trajectory": True},
    description="VideoPose3D 81f, 128 channels, coco17 -> h36m17 with trajectory, trained on posetool synth",
    skeleton="coco17",
    weights=WeightsSpec(
        "videopose3d_synth.safetensors", sha256="415599fbeb38c89af9ea06b9a14ae537b667a726c0b0ef3b8754c22f5c6a7930",
        source="package", licence="Apache-2.0",
        command="for s in $(seq 100 115); do posetool synth synth/train/s$s --no-render --seed $s --frames 500 --people 4; done; "
        "posetool synth synth/test/s900 --no-render --seed 900 --frames 500 --people 4; "
        "posetool train lift3d synth/train/s1* --valid synth/test/s900 --out run --arch 3,3,3,3 --channels 128 "
        "--trajectory --epochs 24 --seed 0 --device cpu; cp run/model.safetensors posetool/weights/videopose3d_synth.safetensors",
    ),
))
# --- end lift3d ---

# --- blazepose (issue 8): MediaPipe BlazePose, .tflite files converted to PyTorch on load ------
# Both files come out of the mediapipe 0.10.14 wheel (posetool weights pull blazepose downloads it
# once with pip and extracts only these two); the pypi fetcher is registered here so pulling
# needs no torch. The "weights file" is the .tflite graph itself (see TFLiteWeightsModule).
from posetool.hub.fetchers.pypi import fetch_pypi as _fetch_pypi  # noqa: E402
from posetool.hub.weights import FETCHERS as _FETCHERS  # noqa: E402

_FETCHERS.setdefault("pypi", _fetch_pypi)
_MEDIAPIPE = "pypi:mediapipe==0.10.14"
_MP_URL = "https://pypi.org/project/mediapipe/0.10.14/"
_SPECS += [
    ModelSpec(name="blazepose", task="detect", builder="posetool.detect.blazepose:build_module",
              kwargs={"input_shape": (1, 224, 224, 3), "num_outputs": 2},
              description="MediaPipe BlazePose person detector (SSD, 2254 anchors, rotated body ROI), TFLite->PyTorch",
              input=InputSpec(224, 224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), channel_order="RGB"),
              skeleton=None,
              weights=WeightsSpec("pose_detection.tflite",
                                  sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
                                  source=_MEDIAPIPE, licence="Apache-2.0", url=_MP_URL,
                                  command="posetool weights pull blazepose")),
    ModelSpec(name="blazepose_full", task="pose2d", builder="posetool.detect.blazepose:build_module",
              kwargs={"input_shape": (1, 256, 256, 3), "num_outputs": 5},
              description="MediaPipe BlazePose GHUM 3D landmarks (full): 33 keypoints + world metres, TFLite->PyTorch",
              input=InputSpec(256, 256, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), channel_order="RGB"),
              skeleton="blazepose33",
              weights=WeightsSpec("pose_landmark_full.tflite",
                                  sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
                                  source=_MEDIAPIPE, licence="Apache-2.0", url=_MP_URL,
                                  command="posetool weights pull blazepose")),
]
# --- end blazepose ---

# --- correspond (issue 9): keypoint correspondence networks (Rafi et al., ECCV 2020) -----------
# The shipped CPU default: light ResNet-18-style backbone (width 16), 128x128 person windows,
# cosine-normalised correlation, trained on synth (see docs/correspond.md for the exact command).
_SPECS.append(ModelSpec(
    name="correspond_r18_synth", task="correspond",
    builder="posetool.nn.correspondence:correspondence_net",
    kwargs={"backbone": "resnet", "width": 16, "norm": "l2", "temperature": 10.0, "refine_width": 32, "refine_prior": True,
            "num_keypoints": 17},
    description="Keypoint correspondences, light ResNet-18 backbone, 128x128 windows, trained on posetool synth",
    input=InputSpec(128, 128, channel_order="RGB"), skeleton="coco17",
    weights=WeightsSpec("correspond_r18_synth.safetensors",
                        sha256="816d286ae8b9e78e35ab9921a0aa4794cabd12c09b6588585aa1795b26dc8a7f",
                        source="package", licence="Apache-2.0",
                        command="for s in 101 102 103 104 105 106; do posetool synth data/train_$s --people 4 --frames 60 "
                                "--seed $s; done; posetool synth data/val_901 --people 4 --frames 40 --seed 901; "
                                "posetool train correspond data/train_10[1-6] --val data/val_901 --siamese-epochs 30 "
                                "--refine-epochs 0 --lr 1e-3 --batch-size 16 --threads 2 --device cpu --seed 0 -o runs/corr_siamese; "
                                "posetool train correspond data/train_10[1-6] --val data/val_901 --siamese-epochs 0 "
                                "--refine-epochs 8 --lr 1e-3 --batch-size 16 --threads 2 --device cpu --seed 0 "
                                "--init runs/corr_siamese/model.safetensors -o runs/corr_refine "
                                "(then copy runs/corr_refine/model.safetensors)"),
))
# The paper's network: BN-Inception Siamese backbone at 256x256 (32x64x64 features); no public
# weights exist (the authors release inference checkpoints in another layout), train it yourself.
_SPECS.append(ModelSpec(
    name="correspond_bninception", task="correspond",
    builder="posetool.nn.correspondence:correspondence_net",
    kwargs={"backbone": "bninception", "norm": "sumsq", "refine_width": 64, "num_keypoints": 17},
    description="Keypoint correspondences, BN-Inception backbone as in the paper, 256x256 (train with posetool train correspond)",
    input=InputSpec(256, 256, channel_order="RGB"), skeleton="coco17",
    weights=WeightsSpec("correspond_bninception.safetensors", sha256=None, source="user", licence="Apache-2.0",
                        url="posetool train correspond DATA --model correspond_bninception"),
))
# --- end correspond ---

for _spec in _SPECS:
    register_model(_spec)
