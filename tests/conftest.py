"""Synthetic materials data with known answers, shared by the test suite."""

from __future__ import annotations

import os

# one BLAS/OpenMP thread per test worker: pytest -n 2 already uses both cores, and oversubscribed BLAS threads
# made k-means, GMM and LightGBM 10-20x slower here
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("MATFORGE_QUIET", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

ELEMENTS = ["Li", "Na", "K", "Mg", "Ca", "Sr", "Ba", "Ti", "Zr", "V", "Nb", "Cr", "Mo", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Al", "Ga", "Si", "Ge", "Sn", "O", "S", "Se", "F", "Cl", "Br", "N", "P"]


def random_formulas(n: int, seed: int = 0, max_elements: int = 4) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = rng.integers(2, max_elements + 1)
        elements = rng.choice(ELEMENTS, k, replace=False)
        amounts = rng.integers(1, 6, k)
        out.append("".join(f"{e}{a}" for e, a in zip(elements, amounts)))
    return out


_FCC = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]  # the site order from_spacegroup gives


def fcc_cell(lattice: float, element: str, anion: str | None = None):
    """The conventional cubic cell of an fcc metal (4 atoms) or, with `anion`, of rock salt (8: the anions on the
    fcc sites shifted by half the cube's diagonal), written out: pymatgen's ``Structure.from_spacegroup("Fm-3m",
    ...)`` gives the same crystal but builds the group's 192 operations each call (0.7-1.3 s here), which was most
    of some tests' time."""
    from pymatgen.core import Lattice, Structure

    sites = [element] * 4 + ([anion] * 4 if anion else [])
    coords = _FCC + ([[(x + 0.5) % 1 for x in c] for c in _FCC] if anion else [])
    return Structure(Lattice.cubic(lattice), sites, coords)


def mean_electronegativity(formulas: list[str]) -> np.ndarray:
    from matforge.features import ElementProperty

    feat = ElementProperty(properties=("Electronegativity",), stats=("mean",))
    return feat.fit_transform(formulas)[:, 0]


@pytest.fixture(scope="session")
def regression_table() -> pd.DataFrame:
    """Target = 3·(mean Pauling-like electronegativity) + 0.01·temperature + small noise: a known answer."""
    formulas = random_formulas(160, seed=1)
    rng = np.random.default_rng(2)
    temperature = rng.uniform(300, 900, len(formulas)).round(0)
    y = 3.0 * mean_electronegativity(formulas) + 0.001 * temperature + rng.normal(0, 0.02, len(formulas))
    return pd.DataFrame({"formula": formulas, "anneal_T_K": temperature, "hardness": y})


@pytest.fixture(scope="session")
def classification_table() -> pd.DataFrame:
    """Class = whether mean electronegativity exceeds its median."""
    formulas = random_formulas(160, seed=3)
    chi = mean_electronegativity(formulas)
    label = np.where(chi > np.median(chi), "ionic", "metallic")
    return pd.DataFrame({"formula": formulas, "kind": label})
