"""Shared CLI options, defined once so every command spells and documents them the same way."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class StreamFormat(str, Enum):
    auto = "auto"
    msgpack = "msgpack"
    jsonl = "jsonl"


InputStream = Annotated[str, typer.Argument(help="Input pose stream: a file, or - for stdin.", show_default=True)]
Output = Annotated[str, typer.Option("-o", "--output", help="Output file, or - for stdout.", show_default=True)]
Format = Annotated[
    StreamFormat,
    typer.Option("--format", help="Output encoding: auto = jsonl for a terminal or *.jsonl, else msgpack."),
]
Device = Annotated[str, typer.Option("--device", help="auto | cpu | cuda[:N] | mps.", rich_help_panel="Model")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Crops/windows per forward pass.", rich_help_panel="Model")]
Runtime = Annotated[str, typer.Option("--runtime", help="auto | torch | litert: what runs the .tflite models (movenet, blazepose_full); auto = per model, the faster on this device (CPU: PyTorch for movenet, LiteRT for blazepose_full when ai-edge-litert is installed; GPU: PyTorch).", rich_help_panel="Model")]
Weights = Annotated[
    str | None, typer.Option("--weights", help="Weights file instead of the registered one.", rich_help_panel="Model")
]
Video = Annotated[str | None, typer.Option("--video", help="Video or image folder instead of the header's source.")]
# How a correspondence network's maps become points (posetool.correspond.infer; docs/correspond.md)
_CD = "Decoding (networks)"
CorrDecode = Annotated[str | None, typer.Option("--decode", help="Sub-cell peak of a correspondence map: dark (the default; DARK's Taylor step on the blurred log map) or centroid (centre of mass of the 3x3 peak; the decoding before 2026-12-07).", rich_help_panel=_CD)]
CorrBlurKernel = Annotated[int | None, typer.Option("--blur-kernel", min=1, help="DARK's blur kernel for correspondence maps (odd; default 11).", rich_help_panel=_CD)]
CorrInputSize = Annotated[int | None, typer.Option("--input-size", min=32, help="Side of the person window in network pixels, a multiple of 32 (default: the model's, 128; larger sees more pixels per person at more cost).", rich_help_panel=_CD)]
QueryOffset = Annotated[bool | None, typer.Option("--query-offset/--no-query-offset", help="Add each query's offset from the feature cell the network correlates to its correspondence (default: on).", show_default=False, rich_help_panel=_CD)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or info on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
Strict = Annotated[bool, typer.Option("--strict", help="A truncated input stream is an error, not a warning.")]


def model_option(default_help: str) -> object:
    """The ``--model NAME`` option of a stage (names come from ``posetool weights list``)."""
    return typer.Option("--model", help=f"Registered model name ({default_help}).", rich_help_panel="Model")
