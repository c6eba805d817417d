"""``posetool align REFERENCE QUERY``: align two performances of the same action in time (TCC embeddings)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command, open_reader, open_writer
from posetool.cli.options import Debug, Device, Format, Output, Quiet, StreamFormat, Strict, Weights

P = "Alignment"


@command("align", renamed={"use_dtw": "--dtw", "csv_path": "--csv"})
def align(
    reference: Annotated[str, typer.Argument(help="Reference pose stream (the take to align to).")],
    query: Annotated[str, typer.Argument(help="Query pose stream; written on with the matches (- for stdin).")] = "-",
    output: Output = "-",
    track: Annotated[list[int] | None, typer.Option(
        "--track", help="Query track(s) to align (repeatable) \\[default: the performer: the largest of the "
        "longest tracks].", rich_help_panel=P)] = None,
    ref_track: Annotated[int | None, typer.Option(
        "--ref-track", help="Reference track \\[default: the performer, as for --track].", rich_help_panel=P)] = None,
    dtw: Annotated[bool, typer.Option(
        "--dtw", help="Monotonic alignment by dynamic time warping on the embedding distances "
        "(the nearest neighbour is kept as nn_frame).", rich_help_panel=P)] = False,
    csv: Annotated[str | None, typer.Option(
        "--csv", help="Also write frame,t,track_id,ref_frame,ref_t,confidence rows to this CSV file.",
        rich_help_panel=P)] = None,
    model: Annotated[str, typer.Option(
        "--model", help="Alignment embedder (posetool weights list --task align), or raw: normalised 2D keypoints "
        "without learning; raw3d: lifted 3D joints in the performer's frame.", rich_help_panel="Model")] = "align_any",
    weights: Weights = None,
    device: Device = "auto",
    fmt: Format = StreamFormat.auto,
    strict: Strict = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Match every query frame of a person to the reference frame in the same phase of the action.

    Adds align: {ref_frame, confidence} to the query's instances of the aligned track (the
    nearest reference frame in the TCC embedding, or the DTW match with --dtw).
    """
    from posetool import console
    from posetool.align.embedder import open_embedder
    from posetool.align.stage import run_align
    from posetool.cli.outputs import check_output

    check_output(csv)
    embedder = open_embedder(model, weights, device)
    ref_reader = open_reader(reference, strict)
    query_reader = open_reader(query, strict)
    results = run_align(ref_reader, reference, query_reader, query, lambda: open_writer(output, fmt), embedder,
                        tracks=track, ref_track=ref_track, use_dtw=dtw, csv_path=csv)
    for res in results:
        console.info(f"align: query track {res.track_id}, {len(res.frames)} frames matched to {reference} "
                     f"(median confidence {float(sorted(res.confidence)[len(res.confidence) // 2]):.2f})")
