"""MediaPipe BlazePose networks (detector and full landmark model) as converted TFLite graphs.

The architecture is whatever the ``.tflite`` file holds: the registry's builder returns an empty
:class:`~posetool.nn.tflite.converter.TFLiteWeightsModule` of the right input shape, and the shared
loader fills it from the file (the module's ``load_weights_file`` hook). The runtimes around the
networks live in :mod:`posetool.detect.blazepose` and :mod:`posetool.pose2d.blazepose`.
"""

from __future__ import annotations

from typing import Any

from posetool.nn.tflite.converter import TFLiteWeightsModule


def build_module(input_shape: tuple[int, ...], num_outputs: int, **_unused: Any) -> TFLiteWeightsModule:
    """Builder for the BlazePose specs: an empty ``TFLiteWeightsModule`` (NHWC ``input_shape``).

    The shared loader fills it from the ``.tflite`` file.
    """
    return TFLiteWeightsModule(input_shape, num_outputs)
