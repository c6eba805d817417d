"""MoveNet MultiPose's CenterNet decoding in torch, as the decoding section of its TFLite graph computes it.

The graph (``movenet.tflite``, MoveNet MultiPose Lightning) ends its network in six heads on a
grid of stride 4 (H × W cells for an input of 4H × 4W pixels) and then decodes them with TFLite
operators. :func:`decode_people` reproduces that section operator for operator, batched:

1. centre NMS: a cell is a peak where |centre − maxpool5×5(centre)| < 1.013e-6 (non-peaks → 0);
   the K = min(H·W, ``max_people``) best peaks by top-k (the graph: K = 6), their row and column;
2. box at each centre: (row, col) + ``box_offset``, height/width = relu(``box_scale``); corners
   ± half the size, clipped to [0, H] × [0, W];
3. keypoints regressed from the centre: (row, col) + ``kpt_regress`` (17 × (dy, dx));
4. refinement: for every person p and keypoint j, the heatmap weighted by
   exp(−d² / (0.30004883 · min(H, W))) (d: distance of each cell to the regressed keypoint, in
   cells), zero outside the person's box (cells with ymin ≤ row < ymax, xmin ≤ col < xmax);
   the arg-max cell (first in row-major order on ties)
   plus ``kpt_offset`` there is the keypoint; its score is the maximum over all people of the
   weighted heatmaps at that cell;
5. person score = centre score × mean of the keypoint scores above 0.12695312 (0 when none);
6. normalised output: cells / H (y) and / W (x); boxes clipped to [0, 1].

The constants are the graph's float16 constants, read as float32.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

NUM_KEYPOINTS = 17
GRAPH_MAX_PEOPLE = 6
# The decoding section's constants (float16 in the file; these are their exact float32 values).
PEAK_EPS = 1.0132789611816406e-06      # Less/y: |centre − maxpool| below this is a peak
SIGMA_FACTOR = 0.300048828125          # mul_7/y: exp(−d² / (this · min(H, W)))
KEYPOINT_THRESHOLD = 0.126953125       # Greater_1/y: keypoints counted in the person score
POOL = 5                               # MaxPool: 5 × 5, stride 1, SAME


class MoveNetHeads(NamedTuple):
    """The six head tensors of one batch, NHWC as TFLite lays them out (B images, H × W cells).

    center: (B, H, W, 1) probability; heatmap: (B, H, W, 17) probabilities; regress: (B, H, W, 34)
    and offset: (B, H, W, 34) as (dy, dx) per keypoint, in cells; box_scale: (B, H, W, 2) height,
    width (cells, before relu); box_offset: (B, H, W, 2) dy, dx of the centre (cells).
    """

    center: torch.Tensor
    heatmap: torch.Tensor
    regress: torch.Tensor
    offset: torch.Tensor
    box_scale: torch.Tensor
    box_offset: torch.Tensor


def _gather_cells(t: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """t (B, H, W, C) at cells (B, K) → (B, K, C)."""
    b = torch.arange(t.shape[0], device=t.device)[:, None]
    return t[b, rows, cols]


def find_centers(center: torch.Tensor, max_people: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centre NMS and top-k. center: (B, H, W, 1) → scores, rows, cols, each (B, K), best first."""
    heat = center[..., 0]
    b, h, w = heat.shape
    # F.max_pool2d pads with -inf, as TFLite's SAME pooling ignores padded taps.
    pooled = F.max_pool2d(heat[:, None], POOL, stride=1, padding=POOL // 2)[:, 0]
    peaks = torch.where((heat - pooled).abs() < PEAK_EPS, heat, torch.zeros_like(heat))
    k = min(h * w, max_people)
    scores, index = peaks.reshape(b, h * w).topk(k, dim=1, sorted=True)
    rows = torch.div(index, w, rounding_mode="floor")
    return scores, rows, index - rows * w


def best_cells(heat: torch.Tensor, wy: torch.Tensor, wx: torch.Tensor, ymin: torch.Tensor, ymax: torch.Tensor,
               xmin: torch.Tensor, xmax: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Arg-max cell of each person's and keypoint's weighted heatmap ``(heat · wy) · wx``.

    Args:
        heat: (B, H, W, 17); wy: (B, K, 17, H) and wx: (B, K, 17, W), zero outside the box;
        ymin, ymax, xmin, xmax: (B, K) box edges in cells.

    Returns:
        (B, K, 17) flat cell indices (row · W + col), as an arg-max over the whole grid: the first
        maximum in row-major order, and cell 0 when every value is 0 (TFLite's ARG_MAX). Outside
        its box a person's values are 0, so only the rows and columns of the box are evaluated:
        people are sorted by box area and taken ``chunk`` at a time in a window as large as the
        largest box of the chunk.
    """
    bsz, h, w, nk = heat.shape
    k = wy.shape[1]
    n = bsz * k
    # Integer rows r with ymin <= r < ymax are ceil(ymin) <= r < ceil(ymax).
    r0 = ymin.ceil().clamp(0, h).long().reshape(n)
    r1 = ymax.ceil().clamp(0, h).long().reshape(n)
    c0 = xmin.ceil().clamp(0, w).long().reshape(n)
    c1 = xmax.ceil().clamp(0, w).long().reshape(n)
    rows_n, cols_n = (r1 - r0).clamp(min=0), (c1 - c0).clamp(min=0)
    order = torch.argsort(rows_n * cols_n, descending=True)
    image = torch.arange(bsz, device=heat.device).repeat_interleave(k)
    heat_t = heat.permute(0, 3, 1, 2)  # (B, 17, H, W)
    wy_n, wx_n = wy.reshape(n, nk, h), wx.reshape(n, nk, w)
    cells = torch.zeros(n, nk, dtype=torch.long, device=heat.device)
    sizes = torch.stack([rows_n, cols_n], 1)[order].tolist()
    for start in range(0, n, chunk):
        hc, wc = max(r for r, _ in sizes[start:start + chunk]), max(c for _, c in sizes[start:start + chunk])
        if hc == 0 or wc == 0:
            break  # this chunk and the rest have empty boxes: all zeros, cell 0
        idx = order[start:start + chunk]
        rr = r0[idx, None] + torch.arange(hc, device=heat.device)  # (C, hc)
        cc = c0[idx, None] + torch.arange(wc, device=heat.device)  # (C, wc)
        rr_in, cc_in = rr.clamp(max=h - 1), cc.clamp(max=w - 1)
        win = heat_t[image[idx, None, None, None], torch.arange(nk, device=heat.device)[None, :, None, None],
                     rr_in[:, None, :, None], cc_in[:, None, None, :]]  # (C, 17, hc, wc)
        wyw = wy_n[idx].gather(2, rr_in[:, None, :].expand(-1, nk, -1)) * (rr < r1[idx, None])[:, None].float()
        wxw = wx_n[idx].gather(2, cc_in[:, None, :].expand(-1, nk, -1)) * (cc < c1[idx, None])[:, None].float()
        vals = ((win * wyw[..., :, None]) * wxw[..., None, :]).reshape(len(idx), nk, hc * wc)
        top = vals.amax(dim=-1)
        first = vals.argmax(dim=-1)  # the first maximum in row-major order
        glob = (r0[idx, None] + torch.div(first, wc, rounding_mode="floor")) * w + (c0[idx, None] + first % wc)
        cells[idx] = torch.where(top > 0, glob, torch.zeros_like(glob))
    return cells.reshape(bsz, k, nk)


def decode_people(heads: MoveNetHeads, max_people: int = GRAPH_MAX_PEOPLE) -> torch.Tensor:
    """The people of each image, as the graph's output row: (B, K, 56), K = min(H·W, max_people).

    Row layout: 17 × (y, x, score) normalised to the input, then ymin, xmin, ymax, xmax
    (normalised), then the person score; rows sorted by centre score (the graph's order).
    """
    if max_people < 1:
        raise ValueError(f"max_people must be ≥ 1, got {max_people}")
    heat = heads.heatmap.float()
    bsz, h, w, nk = heat.shape
    dev = heat.device
    score_c, rows, cols = find_centers(heads.center.float(), max_people)
    k = rows.shape[1]
    fr, fc = rows.float(), cols.float()

    # Box around each centre, in cells, clipped to the grid.
    scale = F.relu(_gather_cells(heads.box_scale.float(), rows, cols))
    off = _gather_cells(heads.box_offset.float(), rows, cols)
    yc, xc = fr + off[..., 0], fc + off[..., 1]
    half_h, half_w = scale[..., 0] * 0.5, scale[..., 1] * 0.5
    ymin = (yc - half_h).clamp(max=float(h)).clamp(min=0.0)
    xmin = (xc - half_w).clamp(max=float(w)).clamp(min=0.0)
    ymax = (yc + half_h).clamp(max=float(h)).clamp(min=0.0)
    xmax = (xc + half_w).clamp(max=float(w)).clamp(min=0.0)

    # Keypoints regressed from the centre: (B, K, 17).
    reg = _gather_cells(heads.regress.float(), rows, cols).reshape(bsz, k, nk, 2)
    ky = fr[..., None] + reg[..., 0]
    kx = fc[..., None] + reg[..., 1]

    # Heatmap weighted by the distance to each person's regressed keypoint, zero outside its box.
    # The graph builds exp(-(dy² + dx²) / s) · inside on (H, W, K, 17); both factors separate into
    # a row and a column table (the product differs from the graph's by float rounding only).
    denom = float(min(h, w)) * SIGMA_FACTOR
    gy = torch.arange(h, device=dev, dtype=torch.float32)
    gx = torch.arange(w, device=dev, dtype=torch.float32)
    dy = gy.view(1, 1, 1, h) - ky[..., None]  # (B, K, 17, H)
    dx = gx.view(1, 1, 1, w) - kx[..., None]  # (B, K, 17, W)
    in_y = (gy.view(1, 1, h) >= ymin[..., None]) & (gy.view(1, 1, h) < ymax[..., None])  # (B, K, H)
    in_x = (gx.view(1, 1, w) >= xmin[..., None]) & (gx.view(1, 1, w) < xmax[..., None])  # (B, K, W)
    wy = torch.exp((dy * dy) * (-1.0 / denom)) * in_y[:, :, None].float()
    wx = torch.exp((dx * dx) * (-1.0 / denom)) * in_x[:, :, None].float()

    cell = best_cells(heat, wy, wx, ymin, ymax, xmin, xmax)  # (B, K, 17) flat index into H × W
    krow = torch.div(cell, w, rounding_mode="floor")
    kcol = cell - krow * w
    b = torch.arange(bsz, device=dev).view(bsz, 1, 1)
    j = torch.arange(nk, device=dev).view(1, 1, nk)
    koff = heads.offset.float().reshape(bsz, h, w, nk, 2)[b, krow, kcol, j]  # (B, K, 17, 2)
    y = krow.float() + koff[..., 0]
    x = kcol.float() + koff[..., 1]
    # Score: the best weighted heat over all people q at the chosen cell (the graph's REDUCE_MAX).
    q = torch.arange(k, device=dev).view(1, 1, k, 1)
    r4, c4 = krow[:, :, None, :], kcol[:, :, None, :]
    b4, j4 = b[..., None], j[:, :, None, :]
    at_cell = (heat[b, krow, kcol, j][:, :, None, :] * wy[b4, q, j4, r4]) * wx[b4, q, j4, c4]  # (B, K, K, 17)
    kscore = at_cell.amax(dim=2)

    above = kscore > KEYPOINT_THRESHOLD
    count = above.float().sum(-1).clamp(min=1.0)
    person = (1.0 / count) * (score_c[..., None] * torch.where(above, kscore, torch.zeros_like(kscore))).sum(-1)

    # Normalise as the graph: stride 4 over an input of 4H × 4W pixels.
    sy, sx = 4.0 / float(4 * h), 4.0 / float(4 * w)
    kps = torch.stack([y * sy, x * sx, kscore], dim=-1).reshape(bsz, k, nk * 3)
    box = torch.stack([ymin * 4.0 / (4 * h), xmin * 4.0 / (4 * w), ymax * 4.0 / (4 * h), xmax * 4.0 / (4 * w)], -1)
    return torch.cat([kps, box.clamp(0.0, 1.0), person[..., None]], dim=-1)
