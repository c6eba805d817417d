"""The lift3d models: VideoPose3D's official checkpoints and the shipped synth default.

Plain data only (no torch): the registry imports this module on its first lookup. Every lifter
names :func:`posetool.lift3d.model.videopose3d_from_file` as its ``file_builder``, so
``--weights FILE`` (or a user-downloaded file in the cache) runs the architecture in the file:
recorded by ``posetool train lift3d``, or read off the tensor shapes of an official VideoPose3D
checkpoint (any widths, channels, with or without ``model_traj``); the spec then supplies the
layouts and ``causal``.
"""

from __future__ import annotations

from posetool.hub.registry import ModelSpec, WeightsSpec, register_model

_BUILDER = "posetool.nn.videopose3d:build_videopose3d"
_FROM_FILE = "posetool.lift3d.model:videopose3d_from_file"

# --- official checkpoints (CC BY-NC 4.0, user-downloaded) ---------------------------------------
# Architectures as the documented run.py commands use them (those of the released files). A
# user's file, named with --weights or placed in the cache, brings its own widths, channels and
# trajectory network (videopose3d_from_file); causality is never in the weights, so causal files
# need the causal spec. Official .bin files read through the allow-list (their pickled numpy
# RandomState becomes an inert stand-in).
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
    register_model(ModelSpec(
        name=_name, task="lift3d", builder=_BUILDER,
        kwargs={**_VP3D_243, "out_skeleton": "h36m17", **_kw}, description=_desc, skeleton=_kw["in_skeleton"],
        weights=WeightsSpec(_file, source="user", licence="CC BY-NC 4.0", url=_VP3D_URL + _file),
        file_builder=_FROM_FILE,
    ))

# --- the shipped default, trained on posetool synth (see docs/lift3d.md for the exact command) --
register_model(ModelSpec(
    name="videopose3d_synth", task="lift3d", builder=_BUILDER,
    kwargs={"in_skeleton": "coco17", "out_skeleton": "h36m17", "filter_widths": (3, 3, 3, 3), "channels": 128,
            "trajectory": True},
    description="VideoPose3D 81f, 128 channels, coco17 -> h36m17 with trajectory, trained on posetool synth",
    skeleton="coco17",
    weights=WeightsSpec(
        "videopose3d_synth.safetensors", sha256="caca4842a96950662323a3157d678539f4e1d376e13cebbc023212febea6a025",
        source="package", licence="Apache-2.0",
        command="scripts/train_lift3d_synth.sh runs/lift3d_synth (synth seeds 3000-3099, 3901 and 3100-3104 of each trust "
        "scene, validation 3900; train lift3d --arch 3,3,3,3 --channels 128 --trajectory --epochs 20 --stride 16 "
        "--noise-2d 0.02 --outliers-2d 0.08 --clamp-2d --seed 0); cp runs/lift3d_synth/run/model.safetensors "
        "posetool/weights/videopose3d_synth.safetensors",
    ),
    file_builder=_FROM_FILE,
))
