"""TFLite models in PyTorch: read a ``.tflite`` flatbuffer and convert its graph to an ``nn.Module``.

``load_tflite(path)`` returns a :class:`TFLiteModule` whose ``forward`` takes NCHW images and
returns the graph's outputs in TFLite's layout. Supported operators: see ``SUPPORTED_OPS``.
"""

from posetool.nn.tflite.converter import SUPPORTED_OPS, TFLiteModule, UnsupportedOperatorError, convert_graph, load_tflite
from posetool.nn.tflite.flatbuffer import TFLiteGraph, read_tflite

__all__ = ["SUPPORTED_OPS", "TFLiteGraph", "TFLiteModule", "UnsupportedOperatorError", "convert_graph",
           "load_tflite", "read_tflite"]
