"""``posetool render``: draw a pose stream over its video (overlay video and/or PNG stills)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader
from posetool.cli.outputs import check_output, claim_input
from posetool.cli.options import Debug, InputStream, Quiet, Strict, Video


@command("render")
def render(
    input: InputStream = "-",
    output: Annotated[str | None, typer.Option("-o", "--output", help="Overlay video (.mp4). Default: overlay.mp4 unless --png is given.")] = None,
    video: Video = None,
    frames: Annotated[str | None, typer.Option("--frames", help="Only these frames, e.g. 0,30,60 (for --png stills).")] = None,
    png: Annotated[str | None, typer.Option("--png", help="Folder for PNG stills of the rendered frames.")] = None,
    boxes: Annotated[bool, typer.Option("--boxes/--no-boxes", help="Draw boxes (dashed for recovered people).")] = False,
    panel: Annotated[bool | None, typer.Option("--panel/--no-panel", help="3D side panel (default: when the stream is lifted).")] = None,
    kp_thr: Annotated[float, typer.Option("--kp-thr", min=0.0, max=1.0, help="Hide keypoints less confident than this.")] = 0.05,
    thickness: Annotated[int, typer.Option("--line-width", min=1, help="Bone line width in pixels.")] = 2,
    radius: Annotated[int, typer.Option("--radius", min=1, help="Joint radius in pixels.")] = 4,
    side_by_side: Annotated[str | None, typer.Option(
        "--side-by-side", help="Reference stream: draw each frame of INPUT (aligned by posetool align) next to "
        "the reference frame it matches.", rich_help_panel="Alignment")] = None,
    ref_video: Annotated[str | None, typer.Option(
        "--ref-video", help="The reference's video (default: its header's source).", rich_help_panel="Alignment")] = None,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Draw skeletons coloured by track with ids; recovered people hollow; confidence as opacity.

    With --side-by-side REFERENCE, an aligned query is shown in lock-step with its reference take."""
    from posetool import console
    from posetool.errors import UsageError
    from posetool.render.overlay import OverlayStyle
    from posetool.render.video import render_stream
    from posetool.video.sources import video_for_stream

    stills = None
    if frames:
        try:
            stills = {int(x) for x in frames.split(",") if x.strip()}
        except ValueError:
            raise UsageError(f"--frames must be comma-separated frame numbers, got {frames!r}") from None
    if output is None and png is None:
        output = "overlay.mp4"
    reader = open_reader(input, strict)
    if side_by_side is not None:
        from posetool.render.side_by_side import render_side_by_side

        ref_reader = open_reader(side_by_side, strict)
        with video_for_stream(reader.header, video) as source, video_for_stream(ref_reader.header, ref_video) as ref_source:
            claim_input(source.path)
            claim_input(ref_source.path)
            check_output(output)
            check_output(png, folder=True)
            n = render_side_by_side(reader, source, ref_reader, ref_source, output,
                                    OverlayStyle(thickness, radius, kp_thr, boxes), stills, png)
        console.info(f"rendered {n} frame(s) side by side" + (f" to {output}" if output else "")
                     + (f", stills in {png}" if png else ""))
        return
    source = video_for_stream(reader.header, video)
    with source:
        claim_input(source.path)
        check_output(output)
        check_output(png, folder=True)
        n = render_stream(reader, source, output, OverlayStyle(thickness, radius, kp_thr, boxes), panel, stills, png)
    console.info(f"rendered {n} frame(s)" + (f" to {output}" if output else "") + (f", stills in {png}" if png else ""))
