"""``posetool inspect``: a rich summary of a pose stream."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from posetool.cli.common import command, open_reader
from posetool.cli.options import Debug, InputStream, Quiet, Strict


@command("inspect")
def inspect(
    input: InputStream = "-",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    top_tracks: Annotated[int, typer.Option("--tracks", min=0, help="How many tracks to list (longest first).")] = 10,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Summarise frames, people per frame, tracks, keypoint confidence, 3D and provenance."""
    from posetool.inspect import StreamSummary, render_summary

    reader = open_reader(input, strict)
    summary = StreamSummary(reader.header)
    for frame in reader.frames():
        summary.add(frame)
    summary.finish(reader.end, reader.truncated)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(top_tracks), indent=2))
    else:
        render_summary(summary, top_tracks)
