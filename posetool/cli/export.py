"""``posetool export``: write a pose stream as COCO, PoseTrack18, MOT, VideoPose3D or CSV files."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader
from posetool.cli.outputs import check_output
from posetool.cli.options import Debug, InputStream, Quiet, Strict


@command("export")
def export(
    input: InputStream = "-",
    to: Annotated[str, typer.Option("--to", help="coco | posetrack18 | mot | videopose3d | csv | trc (one OpenSim file per track into the -o folder)")] = "coco",
    output: Annotated[str, typer.Option("-o", "--output", help="Output file (- for stdout; videopose3d needs a file).")] = "-",
    gt: Annotated[str | None, typer.Option("--gt", help="coco: take image ids from this COCO file (frames matched as in eval).")] = None,
    sequence: Annotated[str, typer.Option("--sequence", help="posetrack18: sequence name NNNNNN_mpii_name (sets image ids).")] = "000000_mpii_posetool",
    kp_thr: Annotated[str, typer.Option("--kp-thr", help="posetrack18: joints with confidence <= this are left out; one value, or per joint as 0.4,left_wrist=0.6 (posetrack18 names).")] = "0",
    name: Annotated[str | None, typer.Option("--name", help="videopose3d, trc: base name of the exported videos / files (default: the video's).")] = None,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Export for pycocotools, poseval, motmetrics, VideoPose3D, DeepLabCut-style tools or OpenSim."""
    from posetool import console
    from posetool.export import exporter

    from posetool.data.posetrack import parse_kp_thresholds

    write = exporter(to)
    parse_kp_thresholds(kp_thr)  # a bad value is named before the input is read
    reader = open_reader(input, strict)
    check_output(output)  # before the stream is read: a run must not end in an unwritable file
    reader.header
    n = write(reader, output, gt=gt, sequence=sequence, name=name, kp_thr=kp_thr)
    console.info(f"export {to}: {n} record(s)" + (f" to {output}" if output != "-" else ""))
