"""Synthetic compositions drawn from chemically distinct families, so every clustering has a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

# each family: elements and the centre of their atomic amounts; members vary the amounts by ±15 %. The
# majority element never changes within a family: Magpie "mode" features jump when it does (KBr vs K1.1Br0.9)
FAMILIES = {
    "stainless": (("Fe", "Ni", "Cr"), (7.0, 1.0, 2.0)),
    "cathode": (("Li", "Co", "O"), (1.0, 1.0, 2.0)),
    "halide": (("Cs", "Pb", "Br"), (1.0, 1.0, 3.0)),
    "iii_v": (("Ga", "In", "As"), (0.5, 0.5, 1.0)),
}


def family_table(n_per_family: int = 40, seed: int = 0) -> pd.DataFrame:
    """`formula`, `family` (the known label) and `target` (family mean + noise, in made-up units)."""
    rng = np.random.default_rng(seed)
    rows = []
    for offset, (name, (elements, centre)) in enumerate(FAMILIES.items()):
        for _ in range(n_per_family):
            amounts = np.asarray(centre) * rng.uniform(0.85, 1.15, len(centre))
            formula = "".join(f"{e}{a:.3f}" for e, a in zip(elements, amounts, strict=True))
            rows.append({"formula": formula, "family": name, "target": 10.0 * offset + rng.normal(0, 1)})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
