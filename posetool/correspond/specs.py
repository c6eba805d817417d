"""The correspond models: keypoint correspondence networks (Rafi et al., ECCV 2020) and two
optical-flow baselines (``lk``, ``dis``) that run in OpenCV without weights.

Plain data only (no torch): the registry imports this module on its first lookup.
:func:`posetool.correspond.backends.build_estimator` builds the estimator a name stands for.
"""

from __future__ import annotations

from posetool.hub.registry import InputSpec, ModelSpec, WeightsSpec, register_model

# How correspond_real was made (docs/correspond.md, "Learning from real footage"); VIDEOS are
# scripts/fetch_real_data.sh's vtest.avi cut to frames 150-794 and Pose2Sim's eight demo clips.
REAL_COMMAND = ("python scripts/correspond_real_data.py data/real && posetool train correspond "
                "data/real/vtest_rest.avi data/real/pose2sim/Demo_SinglePerson/videos/cam0[1-4].mp4 "
                "data/real/pose2sim/Demo_MultiPerson/videos/cam0[1-4].mp4 --init correspond_r18_synth "
                "--context 1.0,1.8 --frame-gap 5 --flip 0.5 --occluders 0.3 --siamese-epochs 20 --refine-epochs 4 "
                "--max-pairs 4000 --lr 3e-4 --batch-size 16 --threads 2 --device cpu --seed 0 -o runs/correspond_real "
                "(then copy runs/correspond_real/model.safetensors)")

# The shipped CPU default: light ResNet-18-style backbone (width 16), 128x128 person windows,
# cosine-normalised correlation, trained on synth (see docs/correspond.md for the exact command).
register_model(ModelSpec(
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

# Learnt from real footage (issue #16): the synth model's Siamese stage fine-tuned on unlabelled real
# video labelled by the real chain (single-image pairs and real frame pairs t-k -> t), then a new
# refinement; tighter person windows (context 1.25) give real people, 60-100 px tall, finer feature cells.
register_model(ModelSpec(
    name="correspond_real", task="correspond",
    builder="posetool.nn.correspondence:correspondence_net",
    kwargs={"backbone": "resnet", "width": 16, "norm": "l2", "temperature": 10.0, "refine_width": 32,
            "refine_prior": True, "num_keypoints": 17},
    description="Keypoint correspondences, light ResNet-18 backbone, 128x128 windows, fine-tuned on real video "
                "(vtest.avi frames 150-794, Pose2Sim demos) labelled by the real chain",
    input=InputSpec(128, 128, channel_order="RGB"), skeleton="coco17",
    # measured on real video: 1.25x windows (docs/correspond.md); `corr` alone tracks with the fewest
    # identity switches on the hand-labelled vtest segment (README, "Tracking on real video")
    defaults={"context": 1.25, "similarity": "corr"},
    weights=WeightsSpec("correspond_real.safetensors",
                        sha256="5d562ec1129825c716d48dd11fd831ed97a0ba935fe90cb3f05595bcee3037f2",
                        source="package", licence="Apache-2.0", command=REAL_COMMAND),
))

# The paper's network: BN-Inception Siamese backbone at 256x256 (32x64x64 features); no public
# weights exist (the authors release inference checkpoints in another layout), train it yourself.
register_model(ModelSpec(
    name="correspond_bninception", task="correspond",
    builder="posetool.nn.correspondence:correspondence_net",
    kwargs={"backbone": "bninception", "norm": "sumsq", "refine_width": 64, "num_keypoints": 17},
    description="Keypoint correspondences, BN-Inception backbone as in the paper, 256x256 (train with posetool train correspond)",
    input=InputSpec(256, 256, channel_order="RGB"), skeleton="coco17",
    weights=WeightsSpec("correspond_bninception.safetensors", sha256=None, source="user", licence="Apache-2.0",
                        url="posetool train correspond DATA --model correspond_bninception"),
))

# --- optical-flow baselines (OpenCV, no weights) ------------------------------------------------
# Each keypoint is carried from frame t-1 to frame t by the flow; the affinity comes from the
# forward-backward error (posetool/correspond/flow.py, docs/correspond.md).
register_model(ModelSpec(
    name="lk", task="correspond", builder="posetool.correspond.flow:LucasKanade", runtime="opencv",
    description="Optical-flow baseline: pyramidal Lucas-Kanade (OpenCV, 21x21 window, 3 levels) with a "
                "forward-backward check as affinity; no weights",
))
register_model(ModelSpec(
    name="dis", task="correspond", builder="posetool.correspond.flow:DisFlow", runtime="opencv",
    description="Optical-flow baseline: DIS dense flow (OpenCV, medium preset) read bilinearly at each keypoint, "
                "forward-backward check as affinity; no weights",
))
