"""Augmentation for micrographs, on whole batches of tensors (no torchvision, see `_nets`).

A micrograph has no "up": the eight flips/90-degree rotations (the dihedral group D4) give images of the
same material, and so do moderate changes of brightness, contrast and gamma (etching depth, lamp, detector
gain) and crops at another position. Masks of segmentation pairs get the same geometric transform.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "FLATTEN_MODES", "MIX_MODES", "dihedral", "flatten_background", "mix_batch", "random_dihedral", "random_crop",
    "random_resized_crop", "random_photometric", "standardize",
]

# Beta(alpha, alpha) concentration used when none is given: the values of the original papers
# (mixup 0.2 for ImageNet, Zhang et al. 2018; CutMix 1.0, Yun et al. 2019).
MIX_MODES = {"none": None, "mixup": 0.2, "cutmix": 1.0}


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Element k (0..7) of D4 on the last two axes: k % 4 quarter turns, then a flip when k >= 4."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def random_dihedral(
    x: torch.Tensor, mask: torch.Tensor | None = None, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A random D4 element per sample of (B, C, H, W) `x` (H == W), the same one on (B, H, W) `mask`."""
    ks = torch.randint(0, 8, (x.shape[0],), generator=generator)
    out_x = torch.empty_like(x)
    out_m = None if mask is None else torch.empty_like(mask)
    for k in range(8):
        sel = ks == k
        if sel.any():
            out_x[sel] = dihedral(x[sel], k)
            if mask is not None:
                out_m[sel] = dihedral(mask[sel], k)
    return out_x, out_m


def random_crop(
    x: torch.Tensor, size: int, mask: torch.Tensor | None = None, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A random `size` x `size` window per sample (the same window in `mask`)."""
    b, _, h, w = x.shape
    tops = torch.randint(0, h - size + 1, (b,), generator=generator).tolist()
    lefts = torch.randint(0, w - size + 1, (b,), generator=generator).tolist()
    out_x = torch.stack([x[i, :, t : t + size, s : s + size] for i, (t, s) in enumerate(zip(tops, lefts, strict=True))])
    if mask is None:
        return out_x, None
    out_m = torch.stack([mask[i, t : t + size, s : s + size] for i, (t, s) in enumerate(zip(tops, lefts, strict=True))])
    return out_x, out_m


def random_resized_crop(x: torch.Tensor, size: int, scale_min: float, *, generator: torch.Generator) -> torch.Tensor:
    """A random square window per sample covering a uniform random share in [`scale_min`, 1] of the
    (B, C, H, W) images' area (side sqrt(share) x min(H, W)), resized to `size` x `size`.

    Scale jitter (the random-resized crop of Szegedy et al., CVPR 2015, kept square: stretching would
    change the shape of pits and cracks): the network sees each defect at magnifications from
    size / min(H, W) to size / (sqrt(scale_min) min(H, W)), so it cannot key on one exact feature size.
    """
    b, _, h, w = x.shape
    side_max = min(h, w)
    shares = scale_min + (1 - scale_min) * torch.rand(b, generator=generator)
    sides = [max(1, min(side_max, int(round(math.sqrt(float(a)) * side_max)))) for a in shares]
    u = torch.rand(b, 2, generator=generator)
    out = []
    for i, side in enumerate(sides):
        top, left = int(u[i, 0] * (h - side + 1)), int(u[i, 1] * (w - side + 1))
        window = x[i : i + 1, :, top : top + side, left : left + side]
        out.append(torch.nn.functional.interpolate(window, size=(size, size), mode="bilinear", align_corners=False,
                                                   antialias=side > size))
    return torch.cat(out)


# Background flattening modes: "plane" removes a least-squares plane a + b*row + c*col (a linear lamp or
# tilt gradient); "gaussian" removes that plane and then a Gaussian blur of what is left (any slowly
# varying illumination, e.g. vignetting or a bright band).
FLATTEN_MODES = ("none", "plane", "gaussian")


def flatten_background(x: torch.Tensor, mode: str = "gaussian", sigma: float = 0.25) -> torch.Tensor:
    """Remove the slowly varying background of each (B, C, H, W) image; the image's mean is added back.

    `sigma` (for "gaussian") is the blur's standard deviation as a share of the shorter image side: structures
    much smaller than that (cracks, pits, inclusions) stay, brightness changes over larger distances go.
    The plane is fitted first because a Gaussian blur near the border cannot follow a linear ramp (the
    padding bends it), so a pure lamp gradient is removed exactly in both modes. Deterministic: the same
    image gives the same result at training and prediction time.
    """
    if mode == "none":
        return x
    if mode not in FLATTEN_MODES:
        raise ValueError(f"unknown flatten mode {mode!r}; one of {FLATTEN_MODES}")
    b, c, h, w = x.shape
    rows = torch.linspace(-1, 1, h, dtype=x.dtype, device=x.device)
    cols = torch.linspace(-1, 1, w, dtype=x.dtype, device=x.device)
    basis = torch.stack([torch.ones(h, w, dtype=x.dtype, device=x.device),
                         rows[:, None].expand(h, w), cols[None, :].expand(h, w)]).reshape(3, -1)  # (3, HW)
    flat = x.reshape(b * c, h * w)
    # The basis is orthogonal on the symmetric grid, so the least-squares coefficients are projections.
    coef = flat @ basis.T / (basis * basis).sum(1)
    mean = coef[:, :1]
    residual = flat - coef @ basis
    if mode == "gaussian":
        s = max(float(sigma) * min(h, w), 1e-3)
        radius = min(int(math.ceil(3 * s)), min(h, w) - 1)
        t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-0.5 * (t / s) ** 2)
        kernel = kernel / kernel.sum()
        img = residual.reshape(b * c, 1, h, w)
        blur = torch.nn.functional.conv2d(torch.nn.functional.pad(img, (radius, radius, 0, 0), mode="reflect"),
                                          kernel.view(1, 1, 1, -1))
        blur = torch.nn.functional.conv2d(torch.nn.functional.pad(blur, (0, 0, radius, radius), mode="reflect"),
                                          kernel.view(1, 1, -1, 1))
        residual = residual - blur.reshape(b * c, h * w)
    return (residual + mean).reshape(b, c, h, w)


def random_photometric(
    x: torch.Tensor, *, generator: torch.Generator, strength: float = 1.0, noise: float = 0.05
) -> torch.Tensor:
    """Random brightness (+-0.1), contrast (x0.8..1.25), gamma (0.8..1.25) and Gaussian noise (`noise` x the
    image's standard deviation) on [0, 1] images."""
    b = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(b, 1, 1, 1, generator=generator)).to(x.device)

    log_range = 0.223 * strength  # ln(1.25)
    gamma = torch.exp(uniform(-log_range, log_range))
    x = x.clamp(0, 1) ** gamma
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * torch.exp(uniform(-log_range, log_range)) + mean + uniform(-0.1 * strength, 0.1 * strength)
    if noise > 0:
        # Relative to each image's own spread: low-contrast images (NEU steel strips have a grey-level
        # std of a few %) must not be drowned in noise that prediction-time images never have.
        spread = x.std(dim=(1, 2, 3), keepdim=True)
        x = x + noise * strength * spread * torch.randn(x.shape, generator=generator).to(x.device)
    return x


def mix_batch(
    x: torch.Tensor, targets: torch.Tensor, mode: str, alpha: float, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each sample of a (B, C, H, W) batch with a random partner from the same batch.

    `targets` are class probabilities (B, n_classes), e.g. one-hot rows. With lam ~ Beta(alpha, alpha):
    "mixup" (Zhang et al., "mixup: Beyond empirical risk minimization", ICLR 2018) returns
    lam * x + (1 - lam) * x_partner; "cutmix" (Yun et al., "CutMix: regularization strategy to train
    strong classifiers with localizable features", ICCV 2019) pastes a random box of about (1 - lam) of the
    area from the partner. The targets become the same convex combination (for cutmix with the box's
    actual area fraction), so a network cannot be right by recognising one local feature alone.
    """
    b, _, h, w = x.shape
    # numpy's Beta sampler, seeded from `generator` so one seed still fixes every draw.
    lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator))).beta(alpha, alpha))
    partner = torch.randperm(b, generator=generator).to(x.device)
    if mode == "mixup":
        x = lam * x + (1 - lam) * x[partner]
    elif mode == "cutmix":
        cut_h, cut_w = int(round(h * math.sqrt(1 - lam))), int(round(w * math.sqrt(1 - lam)))
        top = int(torch.randint(0, h - cut_h + 1, (1,), generator=generator))
        left = int(torch.randint(0, w - cut_w + 1, (1,), generator=generator))
        x = x.clone()
        x[:, :, top : top + cut_h, left : left + cut_w] = x[partner, :, top : top + cut_h, left : left + cut_w]
        lam = 1 - cut_h * cut_w / (h * w)
    else:
        raise ValueError(f"unknown mix mode {mode!r}; one of {sorted(MIX_MODES)}")
    return x, lam * targets + (1 - lam) * targets[partner]


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit standard deviation per image, so bit depth and exposure do not matter."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + 1e-5)
