"""Geometric descriptors of ABX3 and A2BB'X6 perovskites from Shannon ionic radii.

Goldschmidt's tolerance factor ``t = (r_A + r_X) / (√2 (r_B + r_X))``, the octahedral factor ``μ = r_B / r_X``
and Bartel's ``τ = r_X / r_B − n_A (n_A − (r_A / r_B) / ln(r_A / r_B))`` (Bartel et al., Sci. Adv. 5,
eaav0693, 2019; τ < 4.18 predicts a perovskite). Radii: Shannon (1976) via pymatgen, A at coordination XII,
B and X at VI. Sites and oxidation states are taken from columns when given, otherwise guessed.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

from matforge.chem import ELEMENT_INDEX, element_table, parse_formula, shannon_radius
from matforge.errors import InputError
from matforge.features._base import CompositionFeaturizer, formulas_from

__all__ = ["PerovskiteDescriptors", "perovskite_sites"]

BARTEL_2019 = (
    "C. J. Bartel et al., New tolerance factor to predict the stability of perovskite oxides and halides, "
    "Sci. Adv. 5, eaav0693 (2019). doi:10.1126/sciadv.aav0693"
)
SHANNON_1976 = (
    "R. D. Shannon, Revised effective ionic radii and systematic studies of interatomic distances in halides and "
    "chalcogenides, Acta Cryst. A32, 751-767 (1976). doi:10.1107/S0567739476001551"
)
_ANIONS = {"O": -2, "S": -2, "Se": -2, "Te": -2, "F": -1, "Cl": -1, "Br": -1, "I": -1, "N": -3, "H": -1}
_LABELS = [
    "t", "mu", "tau", "rA_over_rB", "rA_over_rX", "nA", "nB", "nX", "rA", "rB", "rX",
    "chi_A_minus_X", "chi_B_minus_X",
]  # fmt: skip


def _descriptors(nA: float, nB: float, nX: float, rA: float, rB: float, rX: float, chiA: float, chiB: float, chiX: float) -> list[float]:
    t = (rA + rX) / (math.sqrt(2.0) * (rB + rX))
    ratio = rA / rB
    tau = rX / rB - nA * (nA - ratio / math.log(ratio)) if ratio > 1.0 else float("nan")
    return [t, rB / rX, tau, ratio, rA / rX, nA, nB, nX, rA, rB, rX, chiA - chiX, chiB - chiX]


@lru_cache(maxsize=65536)
def perovskite_sites(
    formula: str | tuple[tuple[str, float], ...],
) -> tuple[tuple[str, ...], tuple[str, ...], str, tuple[int, ...], tuple[int, ...], int] | None:
    """Guess sites and oxidation states of an ABX3 or A2BB'X6 formula (text, or (symbol, amount) pairs).

    Returns ``(A elements, B elements, X, A states, B states, X state)`` or None when the formula is not of
    that type or no charge-balanced assignment with tabulated radii exists. The A site is the larger cation.
    """
    amounts = parse_formula(formula) if isinstance(formula, str) else dict(formula)
    anions = [e for e in amounts if e in _ANIONS]
    if len(anions) != 1:
        return None
    anion = anions[0]
    cations = {e: a for e, a in amounts.items() if e != anion}
    total = sum(cations.values())
    if total <= 0:
        return None
    scale = 2.0 / total  # per ABX3 unit the cations sum to 2
    if abs(amounts[anion] * scale - 3.0) > 1e-6:
        return None
    cation_amounts = {e: a * scale for e, a in cations.items()}
    nX = _ANIONS[anion]
    table = element_table()

    def states(sym: str) -> list[int]:
        common = [s for s in table.common_oxidation_states[ELEMENT_INDEX[sym]] if s > 0]
        return common or [1, 2, 3, 4, 5]

    symbols = list(cation_amounts)
    best = None
    for combo in itertools.product(*[states(s) for s in symbols]):
        charge = sum(cation_amounts[s] * n for s, n in zip(symbols, combo, strict=False)) + 3 * nX
        if abs(charge) > 1e-6:
            continue
        # split the cations into an A site (amount 1) and a B site (amount 1) by size
        big = sorted(zip(symbols, combo, strict=False), key=lambda sc: -shannon_radius(sc[0], sc[1], 12))
        a_site, b_site, filled = [], [], 0.0
        for sym, n in big:
            if filled < 1.0 - 1e-6:
                a_site.append((sym, n))
                filled += cation_amounts[sym]
            else:
                b_site.append((sym, n))
        if abs(filled - 1.0) > 1e-6 or not b_site:
            continue
        radii = [shannon_radius(s, n, 12) for s, n in a_site] + [shannon_radius(s, n, 6) for s, n in b_site]
        if any(np.isnan(radii)):
            continue
        rank = sum(states(s).index(n) for s, n in zip(symbols, combo, strict=False))
        if best is None or rank < best[0]:
            best = (rank, a_site, b_site)
    if best is None:
        return None
    _, a_site, b_site = best
    return (
        tuple(s for s, _ in a_site), tuple(s for s, _ in b_site), anion,
        tuple(n for _, n in a_site), tuple(n for _, n in b_site), nX,
    )  # fmt: skip


class PerovskiteDescriptors(CompositionFeaturizer):
    """Tolerance factor t, octahedral factor μ, Bartel's τ, radius ratios and electronegativity differences.

    Parameters
    ----------
    site_cols : optional (A, B, X) columns of element symbols; otherwise sites are guessed from the formula.
    oxidation_cols : optional (nA, nB, nX) columns of oxidation states; otherwise guessed (charge balance over
        common oxidation states).
    radius_cols : optional (rA, rB, rX) columns of ionic radii in Å; otherwise Shannon radii (A: CN XII,
        B and X: CN VI). For A2BB'X6 the B radius and state are the means over B and B'.

    Rows that are not ABX3/A2BB'X6, or whose radii are not tabulated, get NaN (the models impute).

    >>> PerovskiteDescriptors().fit_transform(["SrTiO3"])[0, 0].round(2)
    1.0
    """

    summary = "perovskite tolerance factors t, μ, τ (Bartel 2019)"

    def __init__(self, site_cols=None, oxidation_cols=None, radius_cols=None, formula_col=None, on_error="raise", n_jobs=1, chunk_size=4096):
        self.site_cols = site_cols
        self.oxidation_cols = oxidation_cols
        self.radius_cols = radius_cols
        self.formula_col = formula_col
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def feature_labels(self) -> list[str]:
        return [f"perovskite {name}" for name in _LABELS]

    def citations(self) -> list[str]:
        return [BARTEL_2019, SHANNON_1976]

    def transform(self, X) -> np.ndarray:
        import pandas as pd

        given = [c for c in (self.site_cols, self.oxidation_cols, self.radius_cols) if c is not None]
        if not given:
            return super().transform(X)
        if not isinstance(X, pd.DataFrame):
            raise InputError("site, oxidation-state or radius columns need a table input (DataFrame)")
        for cols in given:
            missing = [c for c in cols if c not in X.columns]
            if missing:
                raise InputError(f"missing column(s) {missing} for perovskite descriptors", column=missing[0])
        formulas, _ = formulas_from(X, self.formula_col)
        chi = element_table().electronegativity
        out = np.full((len(X), len(_LABELS)), np.nan)
        for i, formula in enumerate(formulas):
            guess = perovskite_sites(formula) if isinstance(formula, str) else None
            if self.site_cols is not None:
                a, b, x = (str(X[c].iat[i]).strip() for c in self.site_cols)
            elif guess is not None:
                a, b, x = guess[0][0], guess[1][0], guess[2]
            else:
                continue
            if self.oxidation_cols is not None:
                nA, nB, nX = (float(X[c].iat[i]) for c in self.oxidation_cols)
            elif guess is not None:
                nA, nB, nX = float(np.mean(guess[3])), float(np.mean(guess[4])), float(guess[5])
            else:
                continue
            if self.radius_cols is not None:
                rA, rB, rX = (float(X[c].iat[i]) for c in self.radius_cols)
            else:
                rA = shannon_radius(a, int(round(nA)), 12)
                rB = shannon_radius(b, int(round(nB)), 6)
                rX = shannon_radius(x, int(round(nX)), 6)
            try:
                idx = [ELEMENT_INDEX[s] for s in (a, b, x)]
            except KeyError as err:
                raise InputError(f"unknown element symbol {err.args[0]!r} in a site column", row=i) from None
            if np.isnan([rA, rB, rX]).any():
                continue
            out[i] = _descriptors(nA, nB, nX, rA, rB, rX, *chi[idx])
        return out

    def compute(self, batch) -> np.ndarray:
        from matforge.chem import ELEMENT_SYMBOLS

        chi = element_table().electronegativity
        out = np.full((len(batch), len(_LABELS)), np.nan)
        for i in np.flatnonzero(batch.valid):
            k = batch.n_elements[i]
            pairs = tuple((ELEMENT_SYMBOLS[e], float(a)) for e, a in zip(batch.element[i, :k], batch.amount[i, :k], strict=False))
            guess = perovskite_sites(pairs)
            if guess is None:
                continue
            a_syms, b_syms, x, a_states, b_states, nX = guess
            rA = float(np.mean([shannon_radius(s, n, 12) for s, n in zip(a_syms, a_states, strict=False)]))
            rB = float(np.mean([shannon_radius(s, n, 6) for s, n in zip(b_syms, b_states, strict=False)]))
            rX = shannon_radius(x, nX, 6)
            chiA = float(np.mean([chi[ELEMENT_INDEX[s]] for s in a_syms]))
            chiB = float(np.mean([chi[ELEMENT_INDEX[s]] for s in b_syms]))
            out[i] = _descriptors(float(np.mean(a_states)), float(np.mean(b_states)), float(nX), rA, rB, rX, chiA, chiB, chi[ELEMENT_INDEX[x]])
        return out
