"""Weighted ridge regression on energies and forces, with its regularisation chosen by cross-validation.

A linear-in-weights potential (E = offsets + row·w, F = force_rows·w) is fitted by minimising
Σ_frames s_t (e − ê)²/σ_E² + Σ_components (f − f̂)²/σ_F² + wᵀ K w/δ², with e the energy per atom and s_t an
optional weight per configuration type t. Force data enter only through normal-equation sums (AᵀA, Aᵀy, yᵀy)
kept for each cross-validation fold; energy rows (one per frame) are kept as they are. Because the sums are
additive, a fold's held-out error for any (σ_E, δ, s) is exact algebra on small matrices: no descriptor is
recomputed, and the final fit on all frames costs one more solve. Only the ratios σ_F/σ_E and σ_F/δ change
the weights, so σ_F stays fixed and σ_E, δ are searched.

References: A. P. Bartók, G. Csányi, Int. J. Quantum Chem. 115, 1051 (2015) (GAP's σ_E, σ_F, δ);
T. Hastie, R. Tibshirani, J. Friedman, The Elements of Statistical Learning, 2nd ed. (2009), §7.10 (K-fold CV).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from matforge.errors import InputError

__all__ = ["NormalEquations", "assign_folds", "ENERGY_SIGMA_GRID", "DELTA_GRID", "TYPE_BALANCE_GRID"]

# Searched values: σ_E from 0.00625 to 12.8 meV/atom, δ from 0.3 to 10⁴ eV (both geometric). With the default
# σ_F = 0.05 eV/Å these span energy-to-force weight ratios from "forces only" to "energies dominate". The σ_E
# range once stopped at 0.1 meV/atom, and mlearn Mo's CV choice sat on that edge; four more halvings put it
# inside. Smaller σ_E does not help there: held-out energy and force errors both rise steadily below
# 0.05 meV/atom (checked down to 0.0004), so the lower end stops at 0.00625.
ENERGY_SIGMA_GRID = tuple(1e-4 * 2.0 ** k for k in range(-4, 8))  # eV/atom
DELTA_GRID = tuple(10 ** (k / 2) for k in range(-1, 9))  # eV, 0.3 to 10^4
# Exponent of the per-configuration-type energy weights (see `NormalEquations.frame_weights`).
TYPE_BALANCE_GRID = (0.0, 0.5, 1.0)


def assign_folds(labels, n_folds: int, seed: int) -> np.ndarray:
    """Fold index of each frame: frames of each configuration type are shuffled and dealt round-robin, so
    every fold sees every family (vacancies, surfaces, ...) in proportion."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=int)
    offset = 0
    for label in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        folds[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)  # continue dealing where the last family stopped, so small families spread out
    return folds


class NormalEquations:
    """Energy rows kept per frame (one row each, so cheap) and force sums AᵀA, Aᵀy, yᵀy kept per fold.

    Keeping energy rows lets each frame's energy weight change (configuration-type balancing) without
    recomputing anything; force rows are 3N per frame, so only their per-fold sums are kept.
    """

    def __init__(self, dim: int, n_folds: int = 1, force_samples: int = 48, seed: int = 0):
        self.dim, self.n_folds = dim, n_folds
        # A random subset of force components per frame is kept as rows, so held-out force errors can be
        # scored as MAE (the metric reported for potentials); the sums alone only give the RMSE, which a few
        # large-force MD frames dominate. 48 components per frame keep memory at frames × 48 × dim.
        self.force_samples = force_samples
        self.rng = np.random.default_rng(seed)
        self.sample_rows, self.sample_targets, self.sample_fold = [], [], []
        self.energy_rows, self.energy_targets, self.frame_fold, self.frame_group = [], [], [], []
        self.A = np.zeros((n_folds, dim, dim))
        self.b = np.zeros((n_folds, dim))
        self.c = np.zeros(n_folds)
        self.n_force = np.zeros(n_folds)

    def add(self, fold: int, energy_row, energy_target: float, force_rows, force_targets, group: str = "") -> None:
        """Add one frame: its energy row and target per atom (eV/atom), its 3N force rows and targets (eV/Å),
        and its configuration type (for `type_balance`)."""
        self.energy_rows.append(np.asarray(energy_row, dtype=float))
        self.energy_targets.append(float(energy_target))
        self.frame_fold.append(int(fold))
        self.frame_group.append(str(group))
        self.A[fold] += force_rows.T @ force_rows
        self.b[fold] += force_rows.T @ force_targets
        self.c[fold] += float(force_targets @ force_targets)
        self.n_force[fold] += len(force_targets)
        if self.force_samples:
            take = self.rng.choice(len(force_targets), min(self.force_samples, len(force_targets)), replace=False)
            self.sample_rows.append(force_rows[take])
            self.sample_targets.append(force_targets[take])
            self.sample_fold.append(np.full(len(take), fold))

    def frame_weights(self, type_balance: float) -> np.ndarray:
        """Energy weight of each frame: (frames of its configuration type)^-type_balance, mean 1. With 1, every
        family weighs the same in total (a dozen relaxed surfaces as much as a hundred MD snapshots); with 0,
        every frame weighs the same."""
        groups = np.asarray(self.frame_group)
        counts = {g: int(np.sum(groups == g)) for g in set(groups.tolist())}
        w = np.array([counts[g] ** -float(type_balance) for g in groups])
        return w * len(w) / w.sum()

    def _energy(self):
        """Energy rows, targets and fold ids as arrays (built once, after the last `add`)."""
        if getattr(self, "_cache", (None,))[0] != len(self.energy_rows):
            self._cache = (len(self.energy_rows), np.asarray(self.energy_rows), np.asarray(self.energy_targets),
                           np.asarray(self.frame_fold))
        return self._cache[1:]

    def _factor(self, folds: list[int], force_sigma: float, delta: float, prior: np.ndarray, R: np.ndarray):
        """Factorise C = A_F/σ_F² + K/δ² over `folds`; return C⁻¹Rᵀ and the forces-only solution C⁻¹b_F."""
        C = self.A[folds].sum(axis=0) / force_sigma ** 2 + prior / delta ** 2
        # The prior K_MM is only semi-definite, and A_F's smallest eigenvalues carry round-off of order
        # 1e-16·‖A_F‖: a jitter of 1e-12 of C's mean diagonal (or 1e-10 of the prior's) makes C definite
        # while moving the solution far less than the prior does; it grows only if Cholesky still fails.
        jitter = max(1e-10 * np.trace(prior) / delta ** 2, 1e-12 * np.trace(C)) / self.dim
        for _ in range(5):
            try:
                factor = cho_factor(C + jitter * np.eye(self.dim))
                break
            except LinAlgError:
                jitter *= 10
        else:
            raise LinAlgError("the force normal equations plus prior are not positive definite")
        return cho_solve(factor, R.T), cho_solve(factor, self.b[folds].sum(axis=0) / force_sigma ** 2)

    @staticmethod
    def _with_energies(U, g, RU, residual, wts, energy_sigma: float) -> np.ndarray:
        """Add the energy rows as a low-rank (Woodbury) update of the forces-only solution g = C⁻¹b_F:
        (C + RᵀWR/σ_E²)⁻¹(b_F + RᵀWy/σ_E²) = g + U(RU + σ_E²W⁻¹)⁻¹(y − Rg), with U = C⁻¹Rᵀ.
        Energy rows weigh up to ~10⁸× more than force rows here; this form never builds those large numbers (it
        corrects g by its energy residuals y − Rg through a frames × frames system), so no precision is lost.
        RU and the residual y − Rg do not depend on σ_E or the frame weights W, so callers form them once."""
        return g + U @ np.linalg.solve(RU + np.diag(energy_sigma ** 2 / wts), residual)

    def solve(self, energy_sigma: float, force_sigma: float, delta: float, prior: np.ndarray,
              type_balance: float = 0.0, exclude: int | None = None) -> np.ndarray:
        """Weights minimising the weighted least squares plus wᵀ prior w/δ², leaving fold `exclude` out."""
        rows, targets, frame_fold = self._energy()
        train = frame_fold != (-1 if exclude is None else exclude)
        R = rows[train]
        U, g = self._factor([k for k in range(self.n_folds) if k != exclude], force_sigma, delta, prior, R)
        return self._with_energies(U, g, R @ U, targets[train] - R @ g, self.frame_weights(type_balance)[train],
                                   energy_sigma)

    def squared_errors(self, fold: int, w: np.ndarray) -> dict:
        """Unweighted sums of squared errors of weights `w` on fold `fold`: energies per atom from the kept rows,
        forces exactly from the fold's sums."""
        rows, targets, frame_fold = self._energy()
        mask = frame_fold == fold
        residual = rows[mask] @ w - targets[mask]
        forces = float(w @ self.A[fold] @ w - 2 * w @ self.b[fold] + self.c[fold])
        return {"E": float(residual @ residual), "F": max(forces, 0.0)}

    def cross_validate(self, force_sigma: float, prior: np.ndarray, energy_sigmas=ENERGY_SIGMA_GRID,
                       deltas=DELTA_GRID, type_balances=TYPE_BALANCE_GRID, progress=None) -> dict:
        """K-fold RMSE of every (σ_E, δ, type balance) on the grids; returns the chosen values and the table.

        The choice minimises MAE_E/min(MAE_E) + MAE_F/min(MAE_F): energies and forces count equally, each
        relative to the best the grid reaches for it, so neither is sacrificed for the other. Errors are pooled
        over all held-out frames without weights, as a test set would score them (energy per atom over all
        held-out frames; force MAE over the sampled components, RMSE over all components).

        Cost: energies add a low-rank term RᵀWR/σ_E² (one row per frame) to C = A_F/σ_F² + K/δ², so C is
        factorised once per (δ, fold) and every (σ_E, balance) is a Woodbury update on a frames × frames
        system, instead of a new dim × dim factorisation per grid point; RU and y − Rg are also formed once per
        (δ, fold), so a grid point costs one frames × frames solve and a dim × frames product. `solve` uses the
        same arithmetic, so the final fit is exactly the model whose held-out errors were scored.

        ``at_edge`` in the result names σ_E or δ when the chosen value is the smallest or largest of its grid
        (of more than one value): the optimum may lie outside the range searched, so widen that grid. The type
        balance is not flagged: 0 (every frame equal) and 1 (every family equal) are the ends of its meaning.
        """
        if self.n_folds < 2:
            raise InputError("cross-validation needs at least 2 folds")
        rows, targets, frame_fold = self._energy()
        samples, sample_targets = np.concatenate(self.sample_rows), np.concatenate(self.sample_targets)
        sample_fold = np.concatenate(self.sample_fold)
        weights = {b: self.frame_weights(b) for b in type_balances}
        sse = {}
        task = progress.add_task("choosing regularisation (CV)", total=len(deltas) * self.n_folds) if progress else None
        held_out = {k: (rows[frame_fold == k], targets[frame_fold == k], samples[sample_fold == k],
                        sample_targets[sample_fold == k]) for k in range(self.n_folds)}
        for delta, k in itertools.product(deltas, range(self.n_folds)):
            train = frame_fold != k
            R, y = rows[train], targets[train]
            U, g = self._factor([j for j in range(self.n_folds) if j != k], force_sigma, delta, prior, R)
            RU, residual = R @ U, y - R @ g
            held_rows, held_targets, held_samples, held_sample_targets = held_out[k]
            for balance, energy_sigma in itertools.product(type_balances, energy_sigmas):
                w = self._with_energies(U, g, RU, residual, weights[balance][train], energy_sigma)
                errors = self.squared_errors(k, w)
                energy_abs = np.abs(held_rows @ w - held_targets).sum()
                force_abs = np.abs(held_samples @ w - held_sample_targets).sum()
                key = (energy_sigma, delta, balance)
                total = sse.get(key, (0.0, 0.0, 0.0, 0.0))
                sse[key] = (total[0] + errors["E"], total[1] + errors["F"], total[2] + energy_abs,
                            total[3] + force_abs)
            if task is not None:
                progress.advance(task)
        n_energy, n_force = len(rows), self.n_force.sum()
        table = [{"energy_sigma": es, "delta": d, "type_balance": b,
                  "energy_rmse": 1000 * float(np.sqrt(e / n_energy)), "energy_mae": 1000 * float(ea / n_energy),
                  "force_rmse": float(np.sqrt(f / n_force)), "force_mae": float(fa / len(sample_targets))}
                 for (es, d, b), (e, f, ea, fa) in sse.items()]  # meV/atom and eV/Å
        best_e = min(r["energy_mae"] for r in table)
        best_f = min(r["force_mae"] for r in table)
        chosen = min(table, key=lambda r: r["energy_mae"] / best_e + r["force_mae"] / best_f)
        grids = {"energy_sigma": tuple(energy_sigmas), "delta": tuple(deltas), "type_balance": tuple(type_balances)}
        at_edge = [name for name in ("energy_sigma", "delta")
                   if len(grids[name]) > 1 and chosen[name] in (min(grids[name]), max(grids[name]))]
        return {"energy_sigma": chosen["energy_sigma"], "delta": chosen["delta"],
                "type_balance": chosen["type_balance"], "n_folds": self.n_folds,
                "grids": {name: list(grid) for name, grid in grids.items()}, "at_edge": at_edge,
                "cv_energy_mae": chosen["energy_mae"], "cv_force_mae": chosen["force_mae"],
                "cv_energy_rmse": chosen["energy_rmse"], "cv_force_rmse": chosen["force_rmse"], "table": table}
