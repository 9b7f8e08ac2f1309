"""Regularisation of the SOAP potential chosen by cross-validation on the training frames only."""

from __future__ import annotations

import numpy as np
import pytest

from matforge.atoms._regression import (
    DELTA_GRID,
    ENERGY_SIGMA_GRID,
    TYPE_BALANCE_GRID,
    NormalEquations,
    assign_folds,
)


def _random_problem(seed=0, dim=5, frames=12):
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=dim)
    data = []
    for _ in range(frames):
        e_row, f_rows = rng.normal(size=dim), rng.normal(size=(6, dim))
        data.append((e_row, e_row @ w_true + 0.01 * rng.normal(), f_rows, f_rows @ w_true + 0.05 * rng.normal(size=6)))
    return data


def test_fold_errors_from_sums_equal_the_direct_residuals():
    data = _random_problem()
    folds = np.arange(len(data)) % 3
    eq = NormalEquations(5, 3)
    for (e_row, e, f_rows, f), k in zip(data, folds, strict=True):
        eq.add(int(k), e_row, e, f_rows, f)
    prior = np.eye(5)
    w = eq.solve(0.01, 0.05, 10.0, prior, exclude=1)
    # Direct: the same weighted ridge written out on the rows of folds 0 and 2.
    rows = [(e_row / 0.01, e / 0.01) for (e_row, e, _, _), k in zip(data, folds, strict=True) if k != 1]
    rows += [(r / 0.05, t / 0.05) for (_, _, f_rows, f), k in zip(data, folds, strict=True) if k != 1
             for r, t in zip(f_rows, f, strict=True)]
    A = np.array([r for r, _ in rows] + list(np.eye(5) / 10.0))
    y = np.array([t for _, t in rows] + [0.0] * 5)
    np.testing.assert_allclose(w, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-7, atol=1e-9)
    held = [d for d, k in zip(data, folds, strict=True) if k == 1]
    sse = eq.squared_errors(1, w)
    assert sse["E"] == pytest.approx(sum((e_row @ w - e) ** 2 for e_row, e, _, _ in held), rel=1e-8)
    assert sse["F"] == pytest.approx(sum(np.sum((f_rows @ w - f) ** 2) for _, _, f_rows, f in held), rel=1e-8)


def test_solve_keeps_precision_when_energies_weigh_far_more_than_forces():
    """σ_E = 0.1 meV/atom against σ_F = 0.05 eV/Å weighs energy rows ~10⁵× more; with fewer data rows than
    weights the prior alone fixes some directions, so any jitter scaled by the energy part would swamp it."""
    rng = np.random.default_rng(5)
    dim, eq = 40, NormalEquations(40, 1)
    rows, targets = [], []
    for _ in range(12):
        e_row, f_rows = rng.normal(size=dim), rng.normal(size=(2, dim))
        e, f = rng.normal(), rng.normal(size=2)
        eq.add(0, e_row, e, f_rows, f)
        rows += [e_row / 1e-4, *(f_rows / 0.05)]
        targets += [e / 1e-4, *(f / 0.05)]
    A = np.vstack([np.array(rows), np.eye(dim) / 10.0])  # prior K = I, δ = 10
    y = np.concatenate([targets, np.zeros(dim)])
    reference = np.linalg.lstsq(A, y, rcond=None)[0]  # QR on the stacked rows: no normal equations
    np.testing.assert_allclose(eq.solve(1e-4, 0.05, 10.0, np.eye(dim)), reference, rtol=1e-6, atol=1e-8)


def test_cross_validation_table_matches_direct_refits():
    """The Woodbury shortcut inside `cross_validate` gives the same held-out errors as refitting each fold."""
    data = _random_problem(seed=3, frames=15)
    groups = ["md"] * 11 + ["surface"] * 4
    folds = assign_folds(groups, 3, seed=0)
    eq = NormalEquations(5, 3)
    for (e_row, e, f_rows, f), k, g in zip(data, folds, groups, strict=True):
        eq.add(int(k), e_row, e, f_rows, f, g)
    prior = np.eye(5) + 0.3
    result = eq.cross_validate(0.05, prior, energy_sigmas=(0.003, 0.03), deltas=(0.5, 5.0), type_balances=(0.0, 1.0))
    assert len(result["table"]) == 8
    for row in result["table"]:
        sse_e = sse_f = ae = af = 0.0
        for k in range(3):
            w = eq.solve(row["energy_sigma"], 0.05, row["delta"], prior, type_balance=row["type_balance"], exclude=k)
            errors = eq.squared_errors(k, w)
            sse_e, sse_f = sse_e + errors["E"], sse_f + errors["F"]
            held = [d for d, fold in zip(data, folds, strict=True) if fold == k]
            ae += sum(abs(e_row @ w - e) for e_row, e, _, _ in held)
            af += sum(np.abs(f_rows @ w - f).sum() for _, _, f_rows, f in held)  # 6 < 48: all components kept
        assert row["energy_rmse"] == pytest.approx(1000 * np.sqrt(sse_e / 15), rel=1e-6)
        assert row["force_rmse"] == pytest.approx(np.sqrt(sse_f / (15 * 6)), rel=1e-6)
        assert row["energy_mae"] == pytest.approx(1000 * ae / 15, rel=1e-6)
        assert row["force_mae"] == pytest.approx(af / (15 * 6), rel=1e-6)


def test_cross_validation_reports_choices_on_the_edge_of_their_grid():
    """A choice at the end of its searched range may not be the optimum; the result says so (never for the
    type balance, whose 0 and 1 are the ends of what it means)."""
    data = _random_problem(seed=4, frames=12)
    eq = NormalEquations(5, 3)
    for (e_row, e, f_rows, f), k in zip(data, np.arange(12) % 3, strict=True):
        eq.add(int(k), e_row, e, f_rows, f)
    two_point = eq.cross_validate(0.05, np.eye(5), energy_sigmas=(0.003, 0.03), deltas=(0.5, 5.0),
                                  type_balances=(0.0, 1.0))
    assert two_point["at_edge"] == ["energy_sigma", "delta"]  # with two values every choice is an end
    assert two_point["grids"] == {"energy_sigma": [0.003, 0.03], "delta": [0.5, 5.0], "type_balance": [0.0, 1.0]}
    fixed = eq.cross_validate(0.05, np.eye(5), energy_sigmas=(0.003,), deltas=(0.5,), type_balances=(0.0, 1.0))
    assert fixed["at_edge"] == []  # a value given by the user is not a searched range


def test_type_balance_one_gives_every_family_the_same_total_weight():
    eq = NormalEquations(2, 1)
    for group in ["md"] * 6 + ["surface"] * 2:
        eq.add(0, np.ones(2), 0.0, np.ones((3, 2)), np.zeros(3), group)
    w = eq.frame_weights(1.0)
    assert w[:6].sum() == pytest.approx(w[6:].sum()) and w.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(eq.frame_weights(0.0), 1.0)


def test_folds_spread_every_configuration_family():
    labels = ["bulk"] * 10 + ["vacancy"] * 4 + ["surface"] * 3
    folds = assign_folds(labels, 3, seed=0)
    assert np.array_equal(folds, assign_folds(labels, 3, seed=0))
    assert np.bincount(folds).tolist() in ([6, 6, 5], [6, 5, 6], [5, 6, 6])
    for family, count in (("bulk", 10), ("vacancy", 4), ("surface", 3)):
        in_family = folds[np.asarray(labels) == family]
        assert len(set(in_family.tolist())) == min(3, count)


def test_auto_regularisation_is_chosen_on_the_grid_and_recorded(soap_calc, tmp_path):
    from matforge.atoms import load_potential, save_run

    tuning = soap_calc.tuning
    assert tuning["n_folds"] == 4
    assert tuning["energy_sigma"] in ENERGY_SIGMA_GRID and tuning["delta"] in DELTA_GRID
    assert tuning["type_balance"] in TYPE_BALANCE_GRID
    assert len(tuning["table"]) == len(ENERGY_SIGMA_GRID) * len(DELTA_GRID) * len(TYPE_BALANCE_GRID)
    assert tuning["grids"]["energy_sigma"] == list(ENERGY_SIGMA_GRID)
    assert set(tuning["at_edge"]) <= {"energy_sigma", "delta"}
    best_e = min(r["energy_mae"] for r in tuning["table"])
    best_f = min(r["force_mae"] for r in tuning["table"])
    scores = [r["energy_mae"] / best_e + r["force_mae"] / best_f for r in tuning["table"]]
    chosen = tuning["table"][int(np.argmin(scores))]
    assert [chosen[k] for k in ("energy_sigma", "delta", "type_balance")] == [
        tuning[k] for k in ("energy_sigma", "delta", "type_balance")]
    # EMT is noise-free: cross-validated errors of the chosen point are small and finite.
    assert 0 < tuning["cv_energy_mae"] < 3.0 and 0 < tuning["cv_force_mae"] < 0.06
    assert soap_calc.model.params["energy_sigma"] == tuning["energy_sigma"]
    save_run(soap_calc, tmp_path / "run")
    card = load_potential(tmp_path / "run").matforge_card
    assert card["tuning"]["delta"] == tuning["delta"]


def test_fixed_regularisation_skips_cross_validation(cu_train):
    from matforge.atoms import fit

    calc = fit(cu_train[:6], engine="soap", n_sparse=30, n_max=3, l_max=2, energy_sigma=0.002, delta=1.0,
               type_balance=0)
    assert calc.tuning is None and calc.matforge_card["tuning"] is None
    assert calc.model.params["energy_sigma"] == 0.002


@pytest.mark.parametrize("options, message", [
    ({"energy_sigma": -1.0}, "must be 'auto' or a number"),
    ({"delta": "big"}, "must be 'auto' or a number"),
    ({"type_balance": -0.5}, "must be 'auto' or a number"),
    ({"cv_folds": 10}, "cross-validation needs"),
])
def test_bad_regularisation_options_are_input_errors(cu_train, options, message):
    from matforge.atoms import fit
    from matforge.errors import InputError

    with pytest.raises(InputError, match=message):
        fit(cu_train[:6], engine="soap", n_sparse=30, **options)
