"""The keypoint correspondence network of Rafi, Doering, Leibe, Gall (ECCV 2020).

Two stages (the authors' released inference code: anDoer/PoseTrack21 ``baselines/models/correspondences``):

1. **Siamese stage.** One backbone with shared weights maps both images (N, 3, H, W) to
   ``feat_channels`` = 32 feature maps at 1/4 of the input size. For every query keypoint of
   image 1, the ``C×3×3`` patch of image-1 features around it is used as a convolution kernel over
   image 2's features (zero padding), and a softmax over all positions turns the response into
   one *affinity map* per keypoint (:func:`correlate`).
2. **Refinement stage.** A small encoder–decoder takes ``cat[features 1, features 2, affinity
   maps of one person's K keypoints]`` and outputs K refined correspondence maps (logits; a sigmoid
   gives the map at inference, as ``torch.sigmoid`` does in the authors' ``warp_poses.py``).

Backbones:

- ``bninception``: BN-Inception (Ioffe & Szegedy 2015) up to inception 5b at 1/32, then the
  authors' decoder: a 2× transposed convolution to 1/16, concatenation with inception 4d, and a
  4× transposed convolution (kernel 8, stride 4, padding 2) to 32 channels at 1/4. ``width``
  scales every channel count (1.0 is the published network, ~11 M parameters).
- ``resnet``: a light ResNet-18-style trunk (:class:`posetool.nn.resnet.ResNet`, slim
  ``width``) whose four stages are merged top-down (1×1 laterals, 2× upsampling and sums) to 32
  channels at 1/4 — the CPU default.

Feature normalisation before the correlation: ``"sumsq"`` divides each feature vector by its
*squared* L2 norm, as the authors' ``get_corr_maps3x3`` does; ``"l2"`` divides by the L2 norm
(cosine similarity). Cosine logits are bounded (±9 over a 3×3 patch), which makes the softmax
flat, so ``"l2"`` is paired with a learnt softmax temperature (``temperature=``; the shipped CPU
model, see docs/correspond.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posetool.nn.resnet import ResNet

NORMS = ("sumsq", "l2")


# --- correlation (shared by both backbones) -------------------------------------------------------
def normalize_features(f: torch.Tensor, norm: str, eps: float = 1e-6) -> torch.Tensor:
    """(N, C, h, w) features divided per position by their squared L2 norm (``sumsq``) or L2 norm (``l2``)."""
    sq = (f * f).sum(dim=1, keepdim=True)
    if norm == "sumsq":
        return f / (sq + eps)
    if norm == "l2":
        return f / (sq.sqrt() + eps)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def correlate(fa: torch.Tensor, fb: torch.Tensor, queries: torch.Tensor, valid: torch.Tensor | None = None,
              norm: str = "sumsq", temperature: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Affinity maps: each query's 3×3 feature patch of ``fa`` convolved over ``fb``, softmax over positions.

    Args:
        fa, fb: (N, C, h, w) features of image 1 and image 2 (already paired: row n of ``fa`` goes
            with row n of ``fb``).
        queries: (N, Q, 2) query positions ``x, y`` in feature pixels; each takes the nearest grid
            cell, the convention of the Gaussian targets and of the decoder (cell i ↔ input pixel
            stride·i). The authors' code floors (``(kp / 4).astype(uint)``), which biases every
            correspondence by half a cell against targets encoded by rounding.
        valid: (N, Q) bool; a query that is invalid or off the grid gets an all-zero map.
        norm: feature normalisation (see :func:`normalize_features`).
        temperature: factor on the logits before the softmax (a scalar or 0-d tensor).
    Returns:
        (N, Q, h, w) maps; each valid map sums to 1.
    """
    n, c, h, w = fa.shape
    if fb.shape != fa.shape:
        raise ValueError(f"fa {tuple(fa.shape)} and fb {tuple(fb.shape)} must have the same shape")
    q = queries.shape[1]
    xy = torch.floor(queries + 0.5).long()
    ok = (xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h)
    if valid is not None:
        ok &= valid.bool()
    idx = (xy[..., 1].clamp(0, h - 1) * w + xy[..., 0].clamp(0, w - 1))  # (N, Q)
    fa_n = normalize_features(fa, norm)
    fb_n = normalize_features(fb, norm)
    # columns of unfold are the zero-padded 3×3 neighbourhoods in (channel, dy, dx) order, which is
    # the flattening order of a (C, 3, 3) convolution kernel
    ua = F.unfold(fa_n, kernel_size=3, padding=1)  # (N, 9C, hw)
    kernels = torch.gather(ua, 2, idx.unsqueeze(1).expand(n, 9 * c, q)).transpose(1, 2)  # (N, Q, 9C)
    ub = F.unfold(fb_n, kernel_size=3, padding=1)  # (N, 9C, hw)
    logits = torch.bmm(kernels, ub) * temperature  # (N, Q, hw) = conv2d(fb_n, kernel, padding=1) per query
    maps = torch.softmax(logits, dim=2) * ok.unsqueeze(-1).to(logits.dtype)
    return maps.view(n, q, h, w)


# --- BN-Inception -----------------------------------------------------------------------------------
class ConvBN(nn.Sequential):
    """Convolution (no bias), BatchNorm, ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int | None = None) -> None:
        pad = kernel // 2 if padding is None else padding
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, pad, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """A BN-Inception module: 1×1 | 1×1→3×3 | 1×1→3×3→3×3 | pool(→1×1), concatenated.

    ``stride`` 2 modules (3c, 4e) have no 1×1 branch and pass the max-pooled input through.
    """

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, cd3r: int, cd3: int, pool: str, proj: int,
                 stride: int = 1) -> None:
        super().__init__()
        self.b1 = ConvBN(cin, c1, 1) if c1 > 0 else None
        self.b3 = nn.Sequential(ConvBN(cin, c3r, 1), ConvBN(c3r, c3, 3, stride))
        self.bd3 = nn.Sequential(ConvBN(cin, cd3r, 1), ConvBN(cd3r, cd3, 3), ConvBN(cd3, cd3, 3, stride))
        pooling = nn.AvgPool2d(3, stride, 1, count_include_pad=False) if pool == "avg" else nn.MaxPool2d(3, stride, 1)
        self.bp = nn.Sequential(pooling, ConvBN(cin, proj, 1)) if proj > 0 else pooling
        self.out_channels = c1 + c3 + cd3 + (proj if proj > 0 else cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = [self.b3(x), self.bd3(x), self.bp(x)]
        if self.b1 is not None:
            out.insert(0, self.b1(x))
        return torch.cat(out, 1)


# (name, 1×1, 3×3 reduce, 3×3, double-3×3 reduce, double-3×3, pool, projection, stride) — Ioffe & Szegedy 2015, Fig. 5
BN_INCEPTION_SPEC = (
    ("3a", 64, 64, 64, 64, 96, "avg", 32, 1),
    ("3b", 64, 64, 96, 64, 96, "avg", 64, 1),
    ("3c", 0, 128, 160, 64, 96, "max", 0, 2),
    ("4a", 224, 64, 96, 96, 128, "avg", 128, 1),
    ("4b", 192, 96, 128, 96, 128, "avg", 128, 1),
    ("4c", 160, 128, 160, 128, 160, "avg", 128, 1),
    ("4d", 96, 128, 192, 160, 192, "avg", 128, 1),
    ("4e", 0, 128, 192, 192, 256, "max", 0, 2),
    ("5a", 352, 192, 320, 160, 224, "avg", 128, 1),
    ("5b", 352, 192, 320, 192, 224, "max", 128, 1),
)


class BNInceptionBackbone(nn.Module):
    """BN-Inception to 1/32, decoded to ``out_channels`` at 1/4 as in the authors' code.

    (N, 3, H, W) → (N, out_channels, H/4, W/4); H and W must be multiples of 32.
    """

    def __init__(self, out_channels: int = 32, width: float = 1.0) -> None:
        super().__init__()

        def ch(v: int) -> int:
            return max(1, int(round(v * width))) if v > 0 else 0

        self.conv1 = ConvBN(3, ch(64), 7, 2)
        self.pool1 = nn.MaxPool2d(3, 2, 1)
        self.conv2 = nn.Sequential(ConvBN(ch(64), ch(64), 1), ConvBN(ch(64), ch(192), 3))
        self.pool2 = nn.MaxPool2d(3, 2, 1)
        cin = ch(192)
        blocks = {}
        for name, c1, c3r, c3, cd3r, cd3, pool, proj, stride in BN_INCEPTION_SPEC:
            m = Inception(cin, ch(c1), ch(c3r), ch(c3), ch(cd3r), ch(cd3), pool, ch(proj), stride)
            blocks[name] = m
            cin = m.out_channels
            if name == "4d":
                skip = cin
        self.inception = nn.ModuleDict(blocks)
        mid = ch(256)
        self.up1 = nn.Sequential(nn.ConvTranspose2d(cin, mid, 4, 2, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.up2 = nn.ConvTranspose2d(mid + skip, out_channels, 8, 4, 2)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool2(self.conv2(self.pool1(self.conv1(x))))
        skip = None
        for name, m in self.inception.items():
            x = m(x)
            if name == "4d":
                skip = x
        x = self.up1(x)
        return self.up2(torch.cat([x, skip], 1))


# --- light ResNet backbone ----------------------------------------------------------------------------
class ResNetBackbone(nn.Module):
    """ResNet trunk, stages merged top-down to ``out_channels`` at 1/4 (H, W multiples of 32)."""

    def __init__(self, out_channels: int = 32, depth: int = 18, width: int = 16, lateral: int = 64) -> None:
        super().__init__()
        self.trunk = ResNet(depth=depth, width=width)
        self.laterals = nn.ModuleList(nn.Conv2d(c, lateral, 1) for c in self.trunk.stage_channels)
        self.smooth = nn.Sequential(nn.Conv2d(lateral, lateral, 3, padding=1, bias=False), nn.BatchNorm2d(lateral),
                                    nn.ReLU(inplace=True), nn.Conv2d(lateral, out_channels, 3, padding=1))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.trunk.forward_features(x)
        y = self.laterals[-1](feats[-1])
        for lat, f in zip(reversed(self.laterals[:-1]), reversed(feats[:-1])):
            y = F.interpolate(y, size=f.shape[-2:], mode="nearest") + lat(f)
        return self.smooth(y)


# --- refinement (shared) ------------------------------------------------------------------------------
class Refinement(nn.Module):
    """Encoder–decoder over ``cat[f1, f2, affinity maps]`` (N, 2C+K, h, w) → K refined logits (N, K, h, w).

    With ``prior=True`` (the shipped CPU model) each affinity map is first divided by its own
    maximum, so its peak is 1 whatever the softmax's spread (the Siamese maps of the shipped model
    peak at ~0.07 on average), the logits get ``gain_k · affinity_k + bias_k`` (learnt per keypoint,
    initialised to 10 and −5), and the output convolution starts at zero: the refinement starts
    exactly from the Siamese stage's answer (same arg-max) and learns a correction, which fits a
    few CPU epochs instead of the paper's 100. Without the peak normalisation the prior was too weak
    (±0.7 logits) and a short schedule ended far below the Siamese maps it was given.
    """

    def __init__(self, in_channels: int, num_keypoints: int, width: int = 48, prior: bool = False) -> None:
        super().__init__()
        w = width
        self.num_keypoints = num_keypoints
        if prior:
            self.prior_gain = nn.Parameter(torch.full((1, num_keypoints, 1, 1), 10.0))
            self.prior_bias = nn.Parameter(torch.full((1, num_keypoints, 1, 1), -5.0))
        else:
            self.prior_gain = self.prior_bias = None
        self.enc0 = nn.Sequential(ConvBN(in_channels, w, 3), ConvBN(w, w, 3))
        self.enc1 = nn.Sequential(ConvBN(w, 2 * w, 3, 2), ConvBN(2 * w, 2 * w, 3))
        self.enc2 = nn.Sequential(ConvBN(2 * w, 4 * w, 3, 2), ConvBN(4 * w, 4 * w, 3), ConvBN(4 * w, 4 * w, 3))
        self.dec1 = ConvBN(4 * w + 2 * w, 2 * w, 3)
        self.dec0 = ConvBN(2 * w + w, w, 3)
        self.head = nn.Conv2d(w, num_keypoints, 1)
        if prior:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.prior_gain is not None:
            k = self.num_keypoints
            aff = x[:, -k:]  # the affinity maps are the last K input channels
            aff = aff / aff.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)
            x = torch.cat([x[:, :-k], aff], 1)
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        d1 = self.dec1(torch.cat([F.interpolate(e2, size=e1.shape[-2:], mode="bilinear", align_corners=False), e1], 1))
        d0 = self.dec0(torch.cat([F.interpolate(d1, size=e0.shape[-2:], mode="bilinear", align_corners=False), e0], 1))
        out = self.head(d0)
        if self.prior_gain is not None:
            out = out + self.prior_gain * aff + self.prior_bias
        return out


class CorrespondenceNet(nn.Module):
    """Siamese backbone + correlation + refinement.

    Args:
        backbone: ``"resnet"`` or ``"bninception"``.
        num_keypoints: K, the keypoints queried per person (17 for coco17).
        feat_channels: C of the 1/4-resolution features (32 in the paper).
        norm: feature normalisation for the correlation (``"sumsq"`` or ``"l2"``).
        refine_width: base width of the refinement encoder–decoder.
        refine_prior: add a learnt per-keypoint affine map of the affinities to the refined logits.
        temperature: if given, a learnt softmax temperature (initial value) on the correlation
            logits, stored as ``log_temperature``; None keeps the plain softmax (the authors').
        backbone_kwargs: ``width`` (and ``depth``, ``lateral`` for resnet).
    """

    stride = 4

    def __init__(self, backbone: str = "resnet", num_keypoints: int = 17, feat_channels: int = 32, norm: str = "sumsq",
                 refine_width: int = 48, refine_prior: bool = False, temperature: float | None = None,
                 **backbone_kwargs: float) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if backbone == "resnet":
            self.siamese: nn.Module = ResNetBackbone(feat_channels, **backbone_kwargs)  # type: ignore[arg-type]
        elif backbone == "bninception":
            self.siamese = BNInceptionBackbone(feat_channels, **backbone_kwargs)
        else:
            raise ValueError(f"backbone must be resnet or bninception, got {backbone!r}")
        self.norm = norm
        self.log_temperature = None if temperature is None else nn.Parameter(torch.tensor(float(temperature)).log())
        self.num_keypoints = num_keypoints
        self.feat_channels = feat_channels
        self.refinement = Refinement(2 * feat_channels + num_keypoints, num_keypoints, refine_width, refine_prior)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images → (N, C, H/4, W/4)."""
        return self.siamese(images)

    def affinity(self, fa: torch.Tensor, fb: torch.Tensor, queries: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """Paired features (P, C, h, w) and queries (P, K, 2) in *input* pixels → (P, K, h, w) affinity maps."""
        t = 1.0 if self.log_temperature is None else self.log_temperature.exp()
        return correlate(fa, fb, queries / self.stride, valid, self.norm, t)

    def refine(self, fa: torch.Tensor, fb: torch.Tensor, affinity: torch.Tensor) -> torch.Tensor:
        """(P, C, h, w) ×2 and (P, K, h, w) affinities → (P, K, h, w) refined logits."""
        return self.refinement(torch.cat([fa, fb, affinity], 1))

    def forward(self, image_a: torch.Tensor, image_b: torch.Tensor, queries: torch.Tensor,
                valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(P, 3, H, W) pairs and (P, K, 2) queries in input pixels → affinity maps and refined logits (P, K, H/4, W/4)."""
        fa, fb = self.features(image_a), self.features(image_b)
        aff = self.affinity(fa, fb, queries, valid)
        return aff, self.refine(fa, fb, aff)


def correspondence_net(**kwargs: object) -> CorrespondenceNet:
    """Registry builder."""
    return CorrespondenceNet(**kwargs)  # type: ignore[arg-type]
