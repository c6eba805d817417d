"""Rich tables for the results of ``posetool eval`` (printed on stdout: they are the command's output)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from posetool.tables import print_fitted


def fmt(v: Any, digits: int = 1) -> str:
    """A number for a table cell; undefined values print as a dash, text as it is."""
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    return f"{float(v):.{digits}f}"


def metric_table(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Any]]], digits: int = 1) -> Table:
    """A table with a label column and one numeric column per name."""
    t = Table(title=title, title_justify="left")
    t.add_column("", style="bold", overflow="fold")
    for c in columns:
        t.add_column(c, justify="right")
    for label, values in rows:
        t.add_row(label, *(fmt(v, digits) for v in values))
    return t


def print_tables(*tables: Table) -> None:
    """Print tables on stdout; one wider than the terminal is wrapped into parts (never cut to "…")."""
    print_fitted(*tables)


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
    t.add_column("", style="bold", overflow="fold")
    for c in cols:
        t.add_column(c, justify="right")
    for name, row in rows:
        t.add_row(name, *row)
    return [t]


def _percent(result: dict[str, Any], name: str) -> float | None:
    """A named COCO metric × 100, or None where pycocotools left it undefined."""
    v = result["metrics"].get(name)
    return None if v is None else 100 * v


def coco_table(result: dict[str, Any]) -> Table:
    """The 10 COCO keypoint stats as pycocotools arranges them: AP and AR by OKS threshold and area (%)."""
    cols = ["OKS .50:.95", ".50", ".75", "medium", "large"]
    rows = [(kind, [_percent(result, kind + s) for s in ("", "50", "75", "m", "l")]) for kind in ("AP", "AR")]
    return metric_table(f"COCO keypoints ({result['images']} images, {result['detections']} detections; %)", cols, rows)


def box_table(result: dict[str, Any]) -> Table:
    """The 12 COCO box stats as pycocotools arranges them: AP by IoU threshold and area, AR by
    detections per image and area (%); cells pycocotools does not compute are left blank."""
    cols = ["IoU .50:.95", ".50", ".75", "small", "medium", "large"]
    ar100 = [_percent(result, n) for n in ("AR100", "ARs", "ARm", "ARl")]
    rows: list[tuple[str, Sequence[Any]]] = [
        ("AP", [_percent(result, n) for n in ("AP", "AP50", "AP75", "APs", "APm", "APl")]),
        ("AR, 1 det", [_percent(result, "AR1"), "", "", "", "", ""]),
        ("AR, 10 dets", [_percent(result, "AR10"), "", "", "", "", ""]),
        ("AR, 100 dets", [ar100[0], "", "", *ar100[1:]]),
    ]
    title = f"COCO person boxes ({result['images']} images, {result['detections']} detections; %)"
    return metric_table(title, cols, rows)


def lift_table(result: dict[str, Any]) -> Table:
    """Per action (or sequence), the action-wise average and the frame-weighted mean, in mm."""
    cols = ["frames", "MPJPE", "P-MPJPE", "N-MPJPE", "MPJVE"]
    keys = ["mpjpe", "p_mpjpe", "n_mpjpe", "mpjve"]
    rows = [(name, [g["frames"], *[g[k] for k in keys]]) for name, g in result["groups"].items()]
    rows.append(("Average", [result["frames"], *[result["average"][k] for k in keys]]))
    rows.append(("All frames", [result["frames"], *[result["all_frames"][k] for k in keys]]))
    return metric_table(f"3D pose error in mm ({result['grouping']}-wise average)", cols, rows)


def correspond_table(result: dict[str, Any], label: str) -> Table:
    """Correspondence accuracy of a model next to the previous-position baseline (rates in %)."""
    px = result.get("pixels", 5.0)
    cols = ["PCKh@0.5", f"within {px:g} px"]
    rows = [(label, [100 * result["model_pckh"], 100 * result["model_px"]]),
            ("previous position (baseline)", [100 * result["base_pckh"], 100 * result["base_px"]])]
    title = f"Correspondences, frame t-{result.get('step', 1)} -> t ({result['keypoints']} keypoints)"
    table = metric_table(title, cols, rows)
    if "kp_thr" in result:  # real video: scored against the stream's own keypoints
        table.caption = (f"pseudo ground truth: the stream's tracked keypoints with confidence >= {result['kp_thr']:g} "
                         "in both frames; head size 0.365 x torso length")
        table.caption_justify = "left"
    return table
