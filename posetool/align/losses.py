"""The cycle-consistency losses of TCC (Dwibedi et al., CVPR 2019) and a temporal-contrastive baseline.

For two embedding sequences U (N, D) and V (M, D), frame u_i's soft nearest neighbour in V is
``v~ = sum_j alpha_j v_j`` with ``alpha = softmax_j(sim(u_i, v_j))``; cycling back, the
logits ``sim(v~, u_k)`` over U say where the cycle lands, ``beta = softmax_k(...)``.

- cycle-back classification: cross-entropy between ``beta`` and the one-hot of ``i``
  (label smoothing 0.1 as in the official code);
- cycle-back regression: fit a Gaussian to ``beta`` over the frames' times t_k
  (``mu = sum beta_k t_k``, ``sigma^2 = sum beta_k (t_k - mu)^2``) and minimise
  ``|t_i - mu|^2 / sigma^2 + lambda log(sigma)`` (the paper's variance-aware form, its best
  loss; lambda = 0.001). The official code adds ``lambda log(sigma^2)``, the same term with lambda
  doubled. Times are frame indices divided by the sequence length (``normalize_indices``).

``sim(a, b) = -|a - b|^2 / D / temperature`` (squared L2, scaled by the embedding size as the
official code does, temperature 0.1). Every ordered pair of sequences in a batch contributes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TEMPERATURE = 0.1
VARIANCE_LAMBDA = 0.001
LABEL_SMOOTHING = 0.1
LOSSES = ("regression", "classification", "contrastive")


def similarity(a: torch.Tensor, b: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """(..., N, D) and (..., M, D) -> (..., N, M): ``-|a_n - b_m|^2 / D / temperature``."""
    sq = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :] - 2 * a @ b.transpose(-1, -2)
    return -sq.clamp_min(0.0) / a.shape[-1] / temperature


def cycle_back_logits(u: torch.Tensor, v: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """(..., N, D) U and (..., M, D) V -> (..., N, N): row i holds the logits of where u_i's cycle
    U -> V -> U lands."""
    alpha = torch.softmax(similarity(u, v, temperature), dim=-1)
    return similarity(alpha @ v, u, temperature)


def _pairs(b: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ordered pair (i, j), i != j, of ``b`` sequences, as two index tensors."""
    i, j = torch.meshgrid(torch.arange(b, device=device), torch.arange(b, device=device), indexing="ij")
    keep = i != j
    return i[keep], j[keep]


def cycle_back_classification(embs: torch.Tensor, temperature: float = TEMPERATURE,
                              label_smoothing: float = LABEL_SMOOTHING) -> torch.Tensor:
    """Mean cycle-back classification loss over every ordered pair of the (B, N, D) ``embs``."""
    b, n, _ = embs.shape
    i, j = _pairs(b, embs.device)
    logits = cycle_back_logits(embs[i], embs[j], temperature).reshape(-1, n)
    labels = torch.arange(n, device=embs.device).repeat(len(i))
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def cycle_back_regression(embs: torch.Tensor, steps: torch.Tensor, lengths: torch.Tensor,
                          temperature: float = TEMPERATURE, variance_lambda: float = VARIANCE_LAMBDA,
                          normalize_indices: bool = True) -> torch.Tensor:
    """Mean variance-aware cycle-back regression loss over every ordered pair.

    Args:
        embs: (B, N, D) embeddings of N sampled frames per sequence.
        steps: (B, N) the frame index of every sampled frame.
        lengths: (B,) the number of frames of every sequence.
    """
    b, n, _ = embs.shape
    i, j = _pairs(b, embs.device)
    times = steps.to(embs.dtype)
    if normalize_indices:
        times = times / lengths.to(embs.dtype)[:, None]
    t = times[i]  # (P, N): times of the sequence the cycles start from and return to
    beta = torch.softmax(cycle_back_logits(embs[i], embs[j], temperature), dim=-1)  # (P, N, N)
    mu = (beta * t[:, None, :]).sum(-1)  # (P, N)
    var = (beta * (t[:, None, :] - mu[..., None]) ** 2).sum(-1)
    err = (t - mu) ** 2  # the cycle started at frame k of row k: its true time is t[:, k]
    return (err / var + variance_lambda * 0.5 * torch.log(var)).mean()


def temporal_contrastive(embs: torch.Tensor, steps: torch.Tensor, lengths: torch.Tensor, window: float = 0.05,
                         temperature: float = TEMPERATURE) -> torch.Tensor:
    """The baseline without cycles: within each sequence, frames closer in time than ``window``
    (a fraction of the sequence length) are positives and all others negatives (a single-view
    time-contrastive InfoNCE loss); nothing ties one sequence to another.

    Args as :func:`cycle_back_regression`.
    """
    b, n, _ = embs.shape
    times = steps.to(embs.dtype) / lengths.to(embs.dtype)[:, None]
    close = (times[:, :, None] - times[:, None, :]).abs() <= window
    eye = torch.eye(n, dtype=torch.bool, device=embs.device)
    positive = close & ~eye
    logits = similarity(embs, embs, temperature).masked_fill(eye, float("-inf"))
    log_p = torch.log_softmax(logits, dim=-1).masked_fill(eye, 0.0)
    has = positive.any(-1)
    share = positive.to(embs.dtype) / positive.sum(-1, keepdim=True).clamp_min(1)
    return -((log_p * share).sum(-1))[has].mean()


def alignment_loss(kind: str, embs: torch.Tensor, steps: torch.Tensor, lengths: torch.Tensor, *,
                   temperature: float = TEMPERATURE, variance_lambda: float = VARIANCE_LAMBDA,
                   label_smoothing: float = LABEL_SMOOTHING) -> torch.Tensor:
    """The loss ``kind`` (one of :data:`LOSSES`) of a batch; args as :func:`cycle_back_regression`."""
    if kind == "regression":
        return cycle_back_regression(embs, steps, lengths, temperature, variance_lambda)
    if kind == "classification":
        return cycle_back_classification(embs, temperature, label_smoothing)
    if kind == "contrastive":
        return temporal_contrastive(embs, steps, lengths, temperature=temperature)
    raise ValueError(f"unknown alignment loss {kind!r}; known: {', '.join(LOSSES)}")
