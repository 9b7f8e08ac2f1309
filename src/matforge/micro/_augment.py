"""Augmentation for micrographs, on whole batches of tensors (no torchvision, see `_nets`).

A micrograph has no "up": the eight flips/90-degree rotations (the dihedral group D4) give images of the
same material, and so do moderate changes of brightness, contrast and gamma (etching depth, lamp, detector
gain) and crops at another position. Masks of segmentation pairs get the same geometric transform.
"""

from __future__ import annotations

import torch

__all__ = ["dihedral", "random_dihedral", "random_crop", "random_photometric", "standardize"]


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


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit standard deviation per image, so bit depth and exposure do not matter."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + 1e-5)
