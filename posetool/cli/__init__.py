"""The ``posetool`` command line: one small module per subcommand, registered here.

Command modules import heavy libraries (torch, OpenCV) inside their functions, so that
``posetool cat`` or ``--help`` start fast.
"""

from __future__ import annotations

import os
import sys

import typer

from posetool import __version__
from posetool.cli import (
    align, cat, correspond, demo, detect, eval, export, inspect, lift3d, pose2d, recover, render, run, synth, track, train,
    weights,
)

app = typer.Typer(
    name="posetool",
    help="Multi-person pose estimation, keypoint correspondences, tracking and 3D lifting in video. "
    "Every stage reads and writes a pose stream, so stages pipe: "
    "posetool detect v.mp4 | posetool pose2d | posetool track -o poses.jsonl",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_STAGES = [detect.detect, pose2d.pose2d, correspond.correspond, recover.recover, track.track, lift3d.lift3d,
           align.align]
_HELPERS = [synth.synth, run.run, render.render, demo.demo, export.export, inspect.inspect, cat.cat]

for _fn in _STAGES:
    app.command(_fn.__name__, rich_help_panel="Stages")(_fn)
app.add_typer(train.app, name="train", rich_help_panel="Stages")
app.add_typer(eval.app, name="eval", rich_help_panel="Stages")
for _fn in _HELPERS:
    app.command(_fn.__name__, rich_help_panel="Helpers")(_fn)
app.add_typer(weights.app, name="weights", rich_help_panel="Helpers")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"posetool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """posetool: pose estimation, correspondences, tracking and 3D lifting for video."""


def main() -> None:
    """Console-script entry point."""
    # FFmpeg and OpenCV print their own lines ("moov atom not found") about a video that posetool
    # then reports in one clear line (design §3); set these variables to see them again.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        app(prog_name="posetool")
    except BrokenPipeError:  # raised while flushing at exit after `| head`
        sys.exit(0)
    except OSError as exc:  # outside any command (--version onto a full disk): one line too
        from posetool.cli.common import _silence_stdout, system_error

        _silence_stdout()
        sys.stderr.write(f"posetool: error: {system_error(exc)}\n")
        sys.exit(1)
