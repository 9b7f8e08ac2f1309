"""Optimizers recover known optima of synthetic surrogates, with and without constraints; NSGA-II fronts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.chem import parse_formula
from matforge.design import optimize, pareto_front
from matforge.errors import InputError

CONTINUOUS = {
    "variables": [
        {"type": "composition", "elements": {"Fe": [0.3, 0.9], "Ni": [0, 0.5], "Cr": [0, 0.5]}},
        {"name": "T", "type": "continuous", "low": 300, "high": 800},
    ]
}


def _fractions(formula: str) -> dict[str, float]:
    amounts = parse_formula(formula)
    total = sum(amounts.values())
    return {e: amounts.get(e, 0.0) / total for e in ("Fe", "Ni", "Cr")}


@pytest.mark.parametrize(("optimizer", "n"), [("pso", 1500), ("ga", 1500), ("bo", 48)])
def test_recovers_unconstrained_optimum(surrogate, optimizer, n):
    result = optimize(surrogate, CONTINUOUS, "max", optimizer=optimizer, n=n, seed=1)
    best = result.designs.iloc[0]
    x = _fractions(best["formula"])
    assert x["Fe"] == pytest.approx(0.6, abs=0.04) and x["Ni"] == pytest.approx(0.1, abs=0.04) and x["Cr"] == pytest.approx(0.3, abs=0.04)
    assert best["T"] == pytest.approx(500, abs=40)
    assert best["prediction"] > 9.7
    assert n <= len(result.evaluations) <= n + 40  # population methods finish their last generation
    assert (np.diff(result.history["best_score"]) >= 0).all()


@pytest.mark.parametrize(("optimizer", "n"), [("pso", 1500), ("ga", 1500), ("bo", 48)])
def test_recovers_optimum_on_constraint_boundary(surrogate, optimizer, n):
    # with Ni >= 0.2 binding, the optimum moves to Fe 0.55, Ni 0.2, Cr 0.25 (Lagrange on Fe + Cr = 0.8)
    space = CONTINUOUS | {"constraints": ["Ni >= 0.2"]}
    result = optimize(surrogate, space, "max", optimizer=optimizer, n=n, seed=1)
    for formula in result.designs["formula"]:
        assert _fractions(formula)["Ni"] >= 0.2 - 1e-6
    x = _fractions(result.designs.iloc[0]["formula"])
    assert x["Fe"] == pytest.approx(0.55, abs=0.05) and x["Ni"] == pytest.approx(0.2, abs=0.03) and x["Cr"] == pytest.approx(0.25, abs=0.05)


def test_target_goal_and_grid_steps(surrogate):
    space = {"variables": [{"type": "composition", "elements": {"Fe": [0.3, 0.9], "Ni": [0, 0.5], "Cr": [0, 0.5]}, "step": 0.05}, {"name": "T", "type": "integer", "low": 300, "high": 800, "step": 50}]}
    result = optimize(surrogate, space, "target:8", optimizer="ga", n=800, seed=0)
    assert result.designs.iloc[0]["prediction"] == pytest.approx(8.0, abs=0.1)
    for formula in result.designs["formula"]:
        for value in _fractions(formula).values():
            assert value * 20 == pytest.approx(round(value * 20), abs=1e-9)
    assert set(result.designs["T"]) <= set(range(300, 801, 50))


def test_same_seed_same_designs(surrogate):
    a = optimize(surrogate, CONTINUOUS, "max", optimizer="ga", n=300, seed=3)
    b = optimize(surrogate, CONTINUOUS, "max", optimizer="ga", n=300, seed=3)
    pd.testing.assert_frame_equal(a.designs, b.designs)


def test_prefer_low_variance_moves_away_from_uncertain_optimum(surrogate):
    plain = optimize(surrogate, CONTINUOUS, "max", optimizer="pso", n=1000, seed=0)
    careful = optimize(surrogate, CONTINUOUS, "max", optimizer="pso", n=1000, seed=0, kappa=-3.0)
    assert careful.designs.iloc[0]["uncertainty"] < plain.designs.iloc[0]["uncertainty"] - 0.2


def test_nsga2_two_goals_gives_a_pareto_front():
    from tests.design.conftest import QuadraticSurrogate

    first = QuadraticSurrogate({"Fe": 0.8, "Ni": 0.1, "Cr": 0.1})
    second = QuadraticSurrogate({"Fe": 0.4, "Ni": 0.1, "Cr": 0.5})
    result = optimize([first, second], CONTINUOUS, "max,max", optimizer="nsga2", n=1200, seed=0, names=["strength", "conductivity"])
    front = result.designs
    assert len(front) >= 10
    scores = front[["strength:score", "conductivity:score"]].to_numpy()
    assert len(pareto_front(scores)) == len(front)  # nobody on the front dominates another
    fe = np.array([_fractions(f)["Fe"] for f in front["formula"]])
    assert fe.min() < 0.5 and fe.max() > 0.7  # it spans the trade-off between the two optima
    assert (front["T"].between(450, 550)).mean() > 0.8


def test_pareto_front_of_known_points():
    scores = np.array([[1, 5], [2, 4], [1, 4], [3, 1], [2, 4]])
    assert pareto_front(scores).tolist() == [0, 1, 3, 4]  # equal points do not dominate each other


def test_bad_requests_are_input_errors(surrogate):
    with pytest.raises(InputError, match="nsga2"):
        optimize([surrogate, surrogate], CONTINUOUS, "max,min", optimizer="ga")
    with pytest.raises(InputError, match="optimizer"):
        optimize(surrogate, CONTINUOUS, "max", optimizer="annealing")
    with pytest.raises(InputError, match="goals"):
        optimize([surrogate, surrogate], CONTINUOUS, "max,min,max", optimizer="nsga2")
