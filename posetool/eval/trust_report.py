"""Rich tables for ``posetool eval trust`` (kept apart from :mod:`posetool.eval.report`, same helpers)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from posetool.eval.report import fmt, metric_table


def _pct(v: Any) -> Any:
    return None if v is None else 100 * v


def trust_tables(r: dict[str, Any]) -> list[Table]:
    """One summary table (next to MOTA/IDF1) and the re-entries per gap bin."""
    mot = r.get("mot") or {}
    ree, lr, jit, lift = r["reentry"], r["lr"], r["jitter"], r["lift"]
    rows: list[tuple[str, list[Any]]] = [
        ("MOTA (%)", [_pct(mot.get("mota"))]),
        ("IDF1 (%)", [_pct(mot.get("idf1"))]),
        ("ID switches", [mot.get("id_switches")]),
        (f"re-entries kept (%, gaps ≥ {ree['min_gap_frames']} frames)", [_pct(ree["share"])]),
        ("re-entries", [ree["count"]]),
        ("left/right swaps per 1,000 person-frames", [lr["per_1000"]]),
        ("swapped limb-pair judgements (%)", [_pct(lr["swapped_share"])]),
        ("accel error 2D (px/frame²)", [jit["accel_error_px"]]),
        ("accel of prediction 2D (px/frame²)", [jit["accel_pred_px"]]),
        ("accel of GT 2D (px/frame²)", [jit["accel_gt_px"]]),
        ("raw accel, all tracks 2D (px/frame²)", [jit["raw_accel_px"]]),
        ("accel error 3D (mm/frame²)", [jit["accel_error_mm"]]),
        ("raw accel, all tracks 3D (mm/frame²)", [jit["raw_accel_mm"]]),
        ("MPJPE root-relative (mm)", [lift["mpjpe_mm"]]),
        ("root position error (mm)", [lift["root_error_mm"]]),
        ("absolute MPJPE (mm)", [lift["abs_mpjpe_mm"]]),
    ]
    if "world" in r:
        rows += [("root error, world frame (mm)", [r["world"]["root_error_mm"]]),
                 ("absolute MPJPE, world frame (mm)", [r["world"]["abs_mpjpe_mm"]])]
    title = (f"Trust ({r['frames']} frames, {r['matched_person_frames']} of {r['gt_person_frames']} GT person-frames "
             f"paired at IoU ≥ {r['iou']:g})")
    summary = metric_table(title, ["value"], [(label, vals) for label, vals in rows], digits=2)
    bins = Table(title="Re-entries by time away", title_justify="left")
    for c in ("gap", "re-entries", "out of view", "kept", "kept (%)"):
        bins.add_column(c, justify="right")
    for b in ree["bins"]:
        bins.add_row(b["label"], str(b["count"]), str(b["out_of_view"]), str(b["kept"]), fmt(_pct(b["share"]), 1))
    return [summary, bins]
