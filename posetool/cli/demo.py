"""``posetool demo``: generate a synth clip, run the chain, evaluate it and print the metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Video


@command("demo")
def demo(
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Generate a synth clip, run the chain, evaluate it and print the metrics."""
    not_available("demo", 11)
