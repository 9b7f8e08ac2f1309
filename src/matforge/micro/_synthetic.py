"""Synthetic micrographs with known truth: Voronoi grains, dark boundaries, pores, second-phase particles.

Used by the tests, and by users to check the grain analysis on their own imaging conditions: generate an
image with their grain size, boundary width, blur and noise, run `analyze_grains`, compare with `truth()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matforge.errors import InputError

__all__ = ["SyntheticMicrostructure", "synthetic_microstructure"]

# Grey levels of the rendered phases before blur and noise: etched boundaries and pores dark, a
# second phase (e.g. carbides) bright, grains mid-grey with per-grain contrast (orientation contrast).
BOUNDARY_LEVEL, PORE_LEVEL, PARTICLE_LEVEL, GRAIN_LEVEL = 0.15, 0.02, 0.95, 0.62


@dataclass
class SyntheticMicrostructure:
    """A rendered micrograph and its truth.

    image : float32 (H, W) in [0, 1].
    grain_labels : int32 (H, W), grain k = 1..n_grains on every pixel that is not a pore (boundary pixels
        belong to their nearest grain), 0 on pores.
    boundary_mask, pore_mask, particle_mask : bool (H, W).
    pixel_size, unit : length of one pixel, e.g. 0.5 and "um".
    """

    image: np.ndarray
    grain_labels: np.ndarray
    boundary_mask: np.ndarray
    pore_mask: np.ndarray
    particle_mask: np.ndarray
    pixel_size: float
    unit: str

    @property
    def phase_mask(self) -> np.ndarray:
        """Class mask for segmentation: 0 grains/boundaries, 1 pores, 2 second-phase particles."""
        mask = np.zeros(self.image.shape, dtype=np.uint8)
        mask[self.pore_mask] = 1
        mask[self.particle_mask] = 2
        return mask

    def truth(self) -> dict:
        """The true values of everything `analyze_grains` reports, measured on the true grain labels."""
        from matforge.micro._grains import grain_summary

        return grain_summary(self.grain_labels, self.pore_mask, self.pixel_size, self.unit)


def _place_seeds(n: int, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    # Dart throwing with a minimum distance gives equiaxed grains with a realistic (not exponential) size
    # spread, unlike a Poisson point process whose cells include many slivers.
    h, w = shape
    min_dist = 0.6 * np.sqrt(h * w / n)
    seeds = np.empty((0, 2))
    tries = 0
    while len(seeds) < n:
        tries += 1
        if tries > 200 * n:
            raise InputError(f"cannot place {n} grains in a {w} x {h} image", hint="Use fewer grains or a larger image")
        p = rng.uniform((0, 0), (h, w), size=(1, 2))
        if len(seeds) == 0 or np.min(np.hypot(*(seeds - p).T)) >= min_dist:
            seeds = np.vstack([seeds, p])
    return seeds


def _disks(shape, fraction: float, radius: tuple[float, float], rng: np.random.Generator, avoid=None) -> np.ndarray:
    """Random disks until they cover `fraction` of the image (never on `avoid` pixels' centres)."""
    mask = np.zeros(shape, dtype=bool)
    if fraction <= 0:
        return mask
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    target = fraction * mask.size
    for _ in range(100_000):
        if mask.sum() >= target:
            break
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        r = rng.uniform(*radius)
        if avoid is not None and avoid[int(cy), int(cx)]:
            continue
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return mask


def synthetic_microstructure(
    shape: tuple[int, int] = (512, 512),
    n_grains: int = 150,
    *,
    boundary_width: float = 2.0,
    grain_contrast: float = 0.08,
    porosity: float = 0.0,
    pore_radius: tuple[float, float] = (4.0, 8.0),
    particle_fraction: float = 0.0,
    particle_radius: tuple[float, float] = (2.0, 4.0),
    blur: float = 1.0,
    noise: float = 0.03,
    pixel_size: float = 1.0,
    unit: str = "um",
    seed: int = 0,
) -> SyntheticMicrostructure:
    """Render a single-phase polycrystal with optional pores and second-phase particles.

    Parameters
    ----------
    shape : (height, width) in pixels.
    n_grains : number of Voronoi grains (seeds with a minimum spacing of 0.6 x the mean grain spacing).
    boundary_width : full width of the dark grain boundaries in pixels.
    grain_contrast : half-range of the random grey level of each grain around 0.62.
    porosity : area fraction of dark circular pores (0..1); radii uniform in `pore_radius` pixels.
    particle_fraction : area fraction of bright particles; radii uniform in `particle_radius` pixels.
    blur : Gaussian point-spread sigma in pixels. noise : Gaussian noise sigma (image range 0..1).
    pixel_size, unit : physical size of a pixel, carried into the truth (e.g. 0.5, "um").
    seed : random seed; the same seed gives the same image.
    """
    from scipy.spatial import cKDTree
    from skimage.filters import gaussian

    h, w = shape
    if n_grains < 2 or h < 16 or w < 16:
        raise InputError("need at least 2 grains and 16 x 16 pixels")
    rng = np.random.default_rng(seed)
    seeds = _place_seeds(n_grains, shape, rng)
    yy, xx = np.mgrid[:h, :w]
    pixels = np.column_stack([yy.ravel() + 0.5, xx.ravel() + 0.5])
    dist, idx = cKDTree(seeds).query(pixels, k=3)
    # Distance of a pixel to the bisector between its nearest seed and the 2nd/3rd nearest: exact boundary
    # geometry of the Voronoi tessellation, so boundaries have a uniform width.
    gaps = []
    for j in (1, 2):
        sep = np.linalg.norm(seeds[idx[:, j]] - seeds[idx[:, 0]], axis=1)
        gaps.append((dist[:, j] ** 2 - dist[:, 0] ** 2) / (2 * sep))
    boundary = (np.minimum(*gaps) < boundary_width / 2).reshape(shape)
    labels = (idx[:, 0] + 1).reshape(shape).astype(np.int32)

    pores = _disks(shape, porosity, pore_radius, rng)
    # Particles sit inside grains: boundaries are drawn over them, so the boundary network stays closed
    # (carbides strung along boundaries would break it, a case this generator does not model).
    particles = _disks(shape, particle_fraction, particle_radius, rng, avoid=boundary | pores) & ~pores & ~boundary
    levels = GRAIN_LEVEL + grain_contrast * rng.uniform(-1, 1, n_grains + 1)
    image = levels[labels]
    image[particles] = PARTICLE_LEVEL
    image[boundary] = BOUNDARY_LEVEL
    image[pores] = PORE_LEVEL
    if blur > 0:
        image = gaussian(image, blur, preserve_range=True)
    image = np.clip(image + rng.normal(0, noise, shape), 0, 1).astype(np.float32)
    labels[pores] = 0
    return SyntheticMicrostructure(image, labels, boundary & ~pores, pores, particles, float(pixel_size), unit)
