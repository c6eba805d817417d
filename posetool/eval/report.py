"""Rich tables for the results of ``posetool eval`` (printed on stdout: they are the command's output)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def fmt(v: Any, digits: int = 1) -> str:
    """A number for a table cell; undefined values print as a dash."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    return f"{float(v):.{digits}f}"


def metric_table(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Any]]], digits: int = 1) -> Table:
    """A table with a label column and one numeric column per name."""
    t = Table(title=title, title_justify="left")
    t.add_column("", style="bold")
    for c in columns:
        t.add_column(c, justify="right")
    for label, values in rows:
        t.add_row(label, *(fmt(v, digits) for v in values))
    return t


def print_tables(*tables: Table) -> None:
    con = _stdout()
    for t in tables:
        con.print(t)


def posetrack_tables(result: Any) -> list[Table]:
    """poseval's table: Head, Shou, Elb, Wri, Hip, Knee, Ankl, Total for AP and MOTA."""
    from posetool.eval.posetrack import GROUPS

    cols = [g for g, _ in GROUPS] + ["Total"]
    rows: list[tuple[str, Sequence[Any]]] = [("AP", result.grouped("ap"))]
    if result.mota is not None:
        rows.append(("MOTA", result.grouped("mota")))
    mode = "poseval-compat" if result.compat else "corrected"
    tables = [metric_table(f"PoseTrack ({result.frames} labelled frames, {mode})", cols, rows)]
    if result.mota is not None:
        tables.append(metric_table(
            "Tracking totals (mean over 15 joints)", ["MOTA", "MOTP", "Prec", "Rec"],
            [("Total", [result.total("mota"), result.total("motp"), result.total("precision"), result.total("recall")])],
        ))
    return tables


_MOT_COLUMNS = (
    ("IDF1", "idf1", True), ("IDP", "idp", True), ("IDR", "idr", True), ("Rcll", "recall", True),
    ("Prcn", "precision", True), ("GT", "num_unique_objects", False), ("MT", "mostly_tracked", False),
    ("PT", "partially_tracked", False), ("ML", "mostly_lost", False), ("FP", "num_false_positives", False),
    ("FN", "num_misses", False), ("IDs", "num_switches", False), ("FM", "num_fragmentations", False),
    ("MOTA", "mota", True), ("MOTP", "motp", False), ("HOTA", "hota", True), ("DetA", "deta", True),
    ("AssA", "assa", True),
)


def mot_tables(result: dict[str, Any]) -> list[Table]:
    """MOTChallenge-style table: percentages for ratios, counts as integers, MOTP as 1 − IoU."""
    cols = [c for c, key, _ in _MOT_COLUMNS if key in result["overall"]]
    rows = []
    for name, vals in [*result["sequences"].items(), ("OVERALL", result["overall"])]:
        row = []
        for _, key, pct in _MOT_COLUMNS:
            if key not in result["overall"]:
                continue
            v = vals.get(key)
            if key == "motp":
                row.append(fmt(v, 3))
            elif pct:
                row.append(fmt(None if v is None else 100 * v, 1))
            else:
                row.append(fmt(int(v)) if v is not None and not (isinstance(v, float) and math.isnan(v)) else "–")
        rows.append((name, row))
    t = Table(title=f"MOT (IoU ≥ {result['iou_threshold']:g}; MOTP = mean 1 − IoU)", title_justify="left")
    t.add_column("", style="bold")
    for c in cols:
        t.add_column(c, justify="right")
    for name, row in rows:
        t.add_row(name, *row)
    return [t]


COCO_STATS = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")


def coco_table(result: dict[str, Any]) -> Table:
    """The 10 COCO keypoint stats (× 100; −1 from pycocotools means undefined)."""
    vals = [None if v is None or v < 0 else 100 * v for v in result["stats"]]
    return metric_table(
        f"COCO keypoints ({result['images']} images, {result['detections']} detections)", COCO_STATS, [("", vals)]
    )


BOX_STATS = ["AP", "AP50", "AP75", "AP S", "AP M", "AP L", "AR1", "AR10", "AR100", "AR S", "AR M", "AR L"]


def box_table(result: dict[str, Any]) -> Table:
    """The 12 COCO box stats (× 100; −1 from pycocotools means undefined)."""
    vals = [None if v is None or v < 0 else 100 * v for v in result["stats"]]
    return metric_table(
        f"COCO person boxes ({result['images']} images, {result['detections']} detections)", BOX_STATS, [("", vals)]
    )


def lift_table(result: dict[str, Any]) -> Table:
    """Per action (or sequence) and the action-wise average, in mm."""
    cols = ["frames", "MPJPE", "P-MPJPE", "N-MPJPE", "MPJVE"]
    keys = ["mpjpe", "p_mpjpe", "n_mpjpe", "mpjve"]
    rows = [(name, [g["frames"], *[g[k] for k in keys]]) for name, g in result["groups"].items()]
    rows.append(("Average", [result["frames"], *[result["average"][k] for k in keys]]))
    return metric_table(f"3D pose error in mm ({result['grouping']}-wise average)", cols, rows)


def correspond_table(result: dict[str, Any], label: str) -> Table:
    """Correspondence accuracy of a model next to the previous-position baseline (rates in %)."""
    px = result.get("pixels", 5.0)
    cols = ["PCKh@0.5", f"within {px:g} px"]
    rows = [(label, [100 * result["model_pckh"], 100 * result["model_px"]]),
            ("previous position (baseline)", [100 * result["base_pckh"], 100 * result["base_px"]])]
    title = f"Correspondences, frame t-{result.get('step', 1)} -> t ({result['keypoints']} keypoints)"
    return metric_table(title, cols, rows)
