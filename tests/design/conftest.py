"""Synthetic surrogates with the predictor interface (``predict_table``) and known optima."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.chem import ELEMENT_INDEX, fraction_matrix


class QuadraticSurrogate:
    """prediction = 10 - 100·Σ(x_el - centre_el)² - ((T - T0)/100)²; uncertainty grows with the Ni fraction.

    Out of domain where the Cr fraction exceeds 0.4. The maximum is at the centre (a known optimum).
    """

    def __init__(self, centre: dict[str, float], T0: float = 500.0, column: str = "formula"):
        self.centre = centre
        self.T0 = T0
        self.column = column
        self.input_columns = [column, "T"]
        self.calls = 0

    def predict_table(self, table: pd.DataFrame, on_error: str = "raise") -> pd.DataFrame:
        self.calls += 1
        fractions = fraction_matrix(table[self.column].to_numpy(dtype=object))
        value = np.full(len(table), 10.0)
        for element, target in self.centre.items():
            value -= 100.0 * (fractions[:, ELEMENT_INDEX[element]] - target) ** 2
        value -= ((table["T"].to_numpy(dtype=float) - self.T0) / 100.0) ** 2
        uncertainty = 0.1 + 5.0 * fractions[:, ELEMENT_INDEX["Ni"]]
        in_domain = fractions[:, ELEMENT_INDEX["Cr"]] <= 0.4
        return pd.DataFrame({"prediction": value, "uncertainty": uncertainty, "in_domain": in_domain}, index=table.index)


@pytest.fixture
def surrogate() -> QuadraticSurrogate:
    return QuadraticSurrogate({"Fe": 0.6, "Ni": 0.1, "Cr": 0.3})


@pytest.fixture
def fe_ni_cr_space() -> dict:
    return {
        "variables": [
            {"type": "composition", "elements": {"Fe": [0.3, 0.9], "Ni": [0, 0.5], "Cr": [0, 0.5]}, "step": 0.05},
            {"name": "T", "type": "continuous", "low": 300, "high": 800, "step": 50},
        ]
    }
