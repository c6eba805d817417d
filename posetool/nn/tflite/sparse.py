"""DENSIFY: expand a TFLite sparse constant (TACO-style CSR, optionally block-sparse) to a dense array.

An n-dimensional tensor with a k-dimensional block is traversed over n + k dimensions in
``traversal_order``; ``block_map[i]`` names the original dimension that block dimension n + i
subdivides. Each traversed dimension is DENSE (every coordinate stored, ``dense_size`` of them) or
SPARSE_CSR (``segments[p]:segments[p+1]`` select the stored coordinates ``indices`` under parent
position ``p``). The stored values are laid out in traversal order, so the position reached at the
last level is the value's index.
"""

from __future__ import annotations

import numpy as np

from posetool.nn.tflite.flatbuffer import SparsityInfo


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity: SparsityInfo) -> np.ndarray:
    """The dense ``shape`` array that ``values`` (stored non-zeros) encode under ``sparsity``."""
    n = len(shape)
    order = sparsity.traversal_order
    block_map = sparsity.block_map
    dims = sparsity.dim_metadata
    if len(order) != n + len(block_map) or len(dims) != len(order):
        raise ValueError(f"sparsity: traversal order {order} and {len(dims)} dim metadata do not fit shape {shape}")
    # Block sizes: a block dimension's metadata is always DENSE.
    block_size = [1] * len(block_map)
    for level, d in enumerate(order):
        if d >= n:
            if dims[level][0] != "DENSE":
                raise ValueError("sparsity: a block dimension must be DENSE")
            block_size[d - n] = dims[level][1]

    out = np.zeros(shape, dtype=values.dtype)
    coords = [0] * (n + len(block_map))
    depth = len(order)

    def emit(position: int) -> None:
        index = list(coords[:n])
        for i, d in enumerate(block_map):
            index[d] = index[d] * block_size[i] + coords[n + i]
        out[tuple(index)] = values[position]

    def walk(level: int, parent: int) -> None:
        meta = dims[level]
        dim = order[level]
        last = level == depth - 1
        if meta[0] == "DENSE":
            size = meta[1]
            for i in range(size):
                coords[dim] = i
                pos = parent * size + i
                emit(pos) if last else walk(level + 1, pos)
        else:
            segments, indices = meta[1], meta[2]
            for pos in range(int(segments[parent]), int(segments[parent + 1])):
                coords[dim] = int(indices[pos])
                emit(pos) if last else walk(level + 1, pos)

    # Fast path for the common layout (row-major, dense outer dims, one CSR innermost dim, no
    # blocks): the whole expansion is one vectorised scatter.
    if (not block_map and order == list(range(n)) and all(m[0] == "DENSE" for m in dims[:-1])
            and dims[-1][0] == "SPARSE_CSR"):
        segments, indices = dims[-1][1], dims[-1][2]
        rows = int(np.prod(shape[:-1])) if n > 1 else 1
        if len(segments) == rows + 1 and len(indices) == len(values):
            counts = np.diff(segments)
            row_ids = np.repeat(np.arange(rows), counts)
            flat = out.reshape(rows, shape[-1])
            flat[row_ids, indices] = values
            return out
    walk(0, 0)
    return out
