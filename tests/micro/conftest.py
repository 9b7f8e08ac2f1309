"""Shared fixtures of the micrograph tests: synthetic data only, so they run without shared/."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")

# One thread per test process: `make test` runs two xdist workers on two cores, and two threads per
# worker oversubscribe the cores, which slows torch's OpenMP kernels several-fold.
torch.set_num_threads(1)


def save_png(path, array: np.ndarray) -> None:
    """Write a float [0, 1] array as 8-bit PNG, or an integer array as is."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    if array.dtype.kind == "f":
        array = (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(array).save(path)


@pytest.fixture(scope="session")
def grain_size_folders(tmp_path_factory):
    """A two-class texture problem in folder-per-class layout: fine-grained vs coarse-grained (48 px)."""
    from matforge.micro import synthetic_microstructure

    root = tmp_path_factory.mktemp("grain_size_classes")
    for k in range(20):
        for name, n_grains in (("fine", 30), ("coarse", 6)):
            sample = synthetic_microstructure((48, 48), n_grains, boundary_width=1.5, noise=0.04, seed=1000 * (n_grains == 6) + k)
            save_png(root / name / f"{name}_{k:02d}.png", sample.image)
    return root


@pytest.fixture(scope="session")
def phase_pairs(tmp_path_factory):
    """30 segmentation pairs (64 px): grains with pores (mask 128) and bright particles (mask 255)."""
    from matforge.micro import synthetic_microstructure

    root = tmp_path_factory.mktemp("phase_pairs")
    for k in range(30):
        sample = synthetic_microstructure((64, 64), 6, porosity=0.12, pore_radius=(4, 8), particle_fraction=0.08,
                                          particle_radius=(3, 6), noise=0.03, seed=k)
        save_png(root / "images" / f"m{k:02d}.png", sample.image)
        save_png(root / "masks" / f"m{k:02d}.png", np.array([0, 128, 255], dtype=np.uint8)[sample.phase_mask])
    return root
