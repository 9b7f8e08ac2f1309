"""Alloy descriptors: atomic-size mismatch, mixing enthalpy and entropy, VEC and moduli of a composition.

The solid-solution and metallic-glass rules of thumb (Yang & Zhang 2012: δ and Ω; Takeuchi & Inoue 2005:
Miedema mixing enthalpies of binary liquids) and the high-entropy-alloy set of Wen et al. 2019, as matminer's
``WenAlloys`` computes them, with the same element data (matminer's ``Miedema.csv``,
``MiedemaLiquidDeltaHf.tsv``, ``cohesive_energies.json`` and Magpie tables, missing values imputed as
matminer does). Written here, vectorized over the padded (rows × elements) arrays, because matminer's
``WenAlloys`` makes one Python call per formula: 22 s for the first 500 formulas of matbench_glass against
3 ms here (measured side by side on this 2-core machine, a benchmark running beside it), so about 4 minutes
for the whole 5,680-row table, more than a search budget. The values equal matminer's (tested).

Left out of matminer's set on purpose: the weight/atomic fraction strings (text), ``APE mean`` (a cluster
packing search with no measured gain: matbench_glass ROC-AUC of extra trees 0.9588 with it, 0.9589 without),
``Atomic weight mean`` (already Magpie's ``mean AtomicWeight``) and ``Total weight``, the mass of the formula
*as written*: ``Cu50Zr50`` and ``CuZr`` get different values, so it encodes how a source writes formulas, not
the material (on matbench_glass, formulas written in at.% are glasses more often than the others, and that
feature scores on it; see docs/benchmark.md).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from matforge.chem import ELEMENT_INDEX, Compositions, element_table
from matforge.features._base import CompositionFeaturizer, gather, weighted_mean

__all__ = ["AlloyFeatures"]

YANG_2012 = (
    "X. Yang, Y. Zhang, Prediction of high-entropy stabilized solid-solution in multi-component alloys, "
    "Mater. Chem. Phys. 132, 233-238 (2012). doi:10.1016/j.matchemphys.2011.11.021"
)
TAKEUCHI_2005 = (
    "A. Takeuchi, A. Inoue, Classification of bulk metallic glasses by atomic size difference, heat of mixing "
    "and period of constituent elements, Mater. Trans. 46, 2817-2829 (2005). doi:10.2320/matertrans.46.2817"
)
WEN_2019 = (
    "C. Wen et al., Machine learning assisted design of high entropy alloys with desired property, "
    "Acta Mater. 170, 109-117 (2019). doi:10.1016/j.actamat.2019.03.010"
)

_GAS_CONSTANT_KJ = 8.314 / 1000  # kJ/(mol K), as matminer


def _data_file(name: str):
    return resources.files("matminer") / "utils" / "data_files" / name


@lru_cache(maxsize=1)
def _alloy_tables() -> dict[str, np.ndarray]:
    """Per-element (118,) arrays and the (118, 118) binary mixing enthalpy matrix, imputed as matminer."""
    import pandas as pd

    n = len(element_table().symbols)
    miedema = pd.read_csv(str(_data_file("Miedema.csv")), index_col="element")
    tables: dict[str, np.ndarray] = {}
    for column in ("electronegativity", "valence_electrons", "shear_modulus"):
        values = np.full(n, np.nan)
        for symbol, value in miedema[column].items():
            if symbol in ELEMENT_INDEX:
                values[ELEMENT_INDEX[symbol]] = value
        values[np.isnan(values)] = np.nanmean(miedema[column].to_numpy(float))
        tables[column] = values
    cohesive = json.loads(_data_file("cohesive_energies.json").read_text())
    values = np.full(n, np.nan)
    for symbol, value in cohesive.items():
        if symbol in ELEMENT_INDEX and value is not None:
            values[ELEMENT_INDEX[symbol]] = value
    values[np.isnan(values)] = np.nanmean([v for v in cohesive.values() if v is not None])
    tables["cohesive_energy"] = values
    pairs: dict[tuple[str, str], float] = {}
    mixing = pd.read_csv(str(_data_file("MiedemaLiquidDeltaHf.tsv")), sep=r"\s+")
    for a, b, dhf in mixing.itertuples(index=False):
        pairs[tuple(sorted((a, b)))] = float(dhf)
    enthalpy = np.full((n, n), np.nanmean(list(pairs.values())))
    for (a, b), dhf in pairs.items():
        if a in ELEMENT_INDEX and b in ELEMENT_INDEX and not np.isnan(dhf):
            enthalpy[ELEMENT_INDEX[a], ELEMENT_INDEX[b]] = enthalpy[ELEMENT_INDEX[b], ELEMENT_INDEX[a]] = dhf
    tables["mixing_enthalpy"] = enthalpy
    for value in tables.values():
        value.setflags(write=False)
    return tables


def _delta(values: np.ndarray, batch: Compositions) -> np.ndarray:
    """``sqrt(Σ c_i (1 - v_i / v̄)²)``, 0 for a single element (Yang's δ for radii)."""
    mean = weighted_mean(values[:, :, None], batch)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(batch.mask, (1.0 - values / mean[:, None]) ** 2, 0.0)
    return np.where(batch.n_elements > 1, np.sqrt(np.sum(batch.fraction * deviation, axis=1)), 0.0)


def _pair_sum(batch: Compositions, term) -> np.ndarray:
    """``Σ_{i<j} c_i c_j term(i, j)`` over each row's element pairs (slots i < j, real where slot j is)."""
    total = np.zeros(len(batch))
    mask = batch.mask
    for j in range(1, batch.element.shape[1]):
        for i in range(j):
            value = np.where(mask[:, j], term(i, j), 0.0)
            total += batch.fraction[:, i] * batch.fraction[:, j] * value
    return total


class AlloyFeatures(CompositionFeaturizer):
    """Alloy descriptors (21): Yang's δ and Ω, Miedema mixing enthalpy, mixing entropy and the Wen et al. set.

    ``Yang delta``: atomic-size mismatch ``sqrt(Σ c_i (1 - r_i/r̄)²)`` (Miracle radii); ``Yang omega``:
    ``T̄_m |ΔS_mix| / |ΔH_mix|``; ``Mixing enthalpy``: ``|4 Σ_{i<j} c_i c_j ΔH_ij|`` (kJ/mol, Takeuchi & Inoue's
    binary liquid enthalpies; at least 1e-6 as in matminer) and ``Mixing enthalpy signed`` (the same sum with its
    sign: negative favours glass and compound formation); ``Configuration entropy``: ``R Σ c_i ln c_i``
    (kJ/mol/K, ≤ 0, matminer's sign); local mismatches ``Σ_{i<j} c_i c_j |v_i - v_j|``; moduli and VEC from the
    Miedema table. Every value but the signed enthalpy equals matminer's ``WenAlloys``/``YangSolidSolution``.
    """

    summary = "alloy descriptors: size mismatch δ, Ω, mixing enthalpy and entropy, VEC, shear modulus (21)"

    def feature_labels(self) -> list[str]:
        return [
            "Yang delta", "Yang omega", "Radii local mismatch", "Radii gamma", "Configuration entropy",
            "Lambda entropy", "Electronegativity delta", "Electronegativity local mismatch", "VEC mean",
            "Mixing enthalpy", "Mixing enthalpy signed", "Mean cohesive energy", "Interant electrons",
            "Interant s electrons", "Interant p electrons", "Interant d electrons", "Interant f electrons",
            "Shear modulus mean", "Shear modulus delta", "Shear modulus local mismatch",
            "Shear modulus strength model",
        ]  # fmt: skip

    def citations(self) -> list[str]:
        return [YANG_2012, TAKEUCHI_2005, WEN_2019]

    def compute(self, batch: Compositions) -> np.ndarray:
        tables = _alloy_tables()
        magpie = element_table().magpie
        mask, fraction = batch.mask, batch.fraction
        single = batch.n_elements <= 1
        index = batch.element.astype(np.int64)

        def per_slot(values: np.ndarray) -> np.ndarray:
            return gather(values[:, None], batch)[:, :, 0]

        def mean(values: np.ndarray) -> np.ndarray:
            return weighted_mean(values[:, :, None], batch)[:, 0]

        def local_mismatch(values: np.ndarray) -> np.ndarray:
            return _pair_sum(batch, lambda i, j: np.abs(values[:, i] - values[:, j]))

        radius = per_slot(magpie["MiracleRadius"])
        yang_delta = _delta(radius, batch)
        entropy = _GAS_CONSTANT_KJ * np.sum(np.where(mask, fraction * np.log(np.where(mask, fraction, 1.0)), 0.0), axis=1)
        enthalpy_matrix = tables["mixing_enthalpy"]
        signed_enthalpy = 4.0 * _pair_sum(batch, lambda i, j: enthalpy_matrix[index[:, i], index[:, j]])
        enthalpy = np.maximum(1e-6, np.abs(signed_enthalpy))
        melting = mean(per_slot(magpie["MeltingT"]))
        yang_omega = np.where(single, 0.0, np.abs(melting * entropy / enthalpy))

        radius_mean = mean(radius)
        radius_min = np.min(np.where(mask, radius, np.inf), axis=1)
        radius_max = np.max(np.where(mask, radius, -np.inf), axis=1)

        def solid_angle(r_other: np.ndarray) -> np.ndarray:
            return 1.0 - np.sqrt((radius_mean * r_other + r_other**2) / (radius_mean + r_other) ** 2)

        with np.errstate(divide="ignore", invalid="ignore"):
            radii_gamma = solid_angle(radius_min) / solid_angle(radius_max)
            lambda_entropy = np.where(yang_delta != 0, entropy / yang_delta**2, 0.0)

        chi = per_slot(tables["electronegativity"])
        shear = per_slot(tables["shear_modulus"])
        shear_mean = mean(shear)
        with np.errstate(divide="ignore", invalid="ignore"):
            combination = np.where(mask, 2.0 * fraction * (shear - shear_mean[:, None]) / (shear + shear_mean[:, None]), 0.0)
        strength = np.where(single, 0.0, np.sum(combination / (1.0 + 0.5 * np.abs(combination)), axis=1))

        # Wen's "interant" electrons: per element present (not weighted), the filled electrons of each partly
        # filled shell, summed
        interant = []
        for shell, capacity in (("Ns", 2), ("Np", 6), ("Nd", 10), ("Nf", 14)):
            unfilled = per_slot(magpie[f"{shell}Unfilled"])
            interant.append(np.sum(np.where(mask & (unfilled != 0), capacity - unfilled, 0.0), axis=1))

        return np.column_stack([
            yang_delta, yang_omega, local_mismatch(radius), radii_gamma, entropy, lambda_entropy,
            _delta(chi, batch), local_mismatch(chi), mean(per_slot(tables["valence_electrons"])), enthalpy,
            signed_enthalpy, mean(per_slot(tables["cohesive_energy"])), np.sum(interant, axis=0), *interant,
            shear_mean, _delta(shear, batch), local_mismatch(shear), strength,
        ])  # fmt: skip
