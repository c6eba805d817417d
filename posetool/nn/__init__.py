"""Network architectures, one file each; modules only (no data handling, no loading).

- :mod:`resnet`: the ResNet trunk (torchvision key layout) shared by the models below.
- :mod:`simple_baselines`: SimpleBaselines ``PoseResNet`` (official keys), top-down heatmaps.
- :mod:`hrnet`: HRNet ``PoseHighResolutionNet`` (official keys), top-down heatmaps.
- :mod:`centernet`: CenterNet person detector (``hm``/``wh``/``reg`` heads).
- :mod:`correspondence`: the keypoint correspondence network (Rafi et al. 2020).
- :mod:`videopose3d`: VideoPose3D temporal models (official keys), 2D sequences to 3D.
- :mod:`blazepose`: MediaPipe BlazePose detector and landmark networks as converted TFLite graphs.
- :mod:`init`: the weight initialisation the official HRNet / SimpleBaselines code share.
- :mod:`tflite`: reading ``.tflite`` flatbuffers and converting their graphs to ``nn.Module``.

The registry (:mod:`posetool.hub.registry`) names these builders as ``"module:function"``
strings; :func:`posetool.hub.loader.load_model` builds them and loads their weights.
"""
