"""``posetool synth``: render a synthetic multi-person video with ground truth in every format."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, not_available
from posetool.cli.options import Debug, Device, Format, InputStream, Output, Quiet, StreamFormat, Video


@command("synth")
def synth(
    outdir: Annotated[str, typer.Argument(help="Output folder.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Render a synthetic multi-person video with ground truth in every format."""
    not_available("synth", 3)
