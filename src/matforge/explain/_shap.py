"""SHAP values of the tree-ensemble member of a final model (Lundberg et al., Nat. Mach. Intell. 2, 56 (2020)).

LightGBM computes exact TreeSHAP itself (``pred_contrib``); scikit-learn forests need the optional `shap`
package (``pip install 'matforge[explain]'``). Models that are not tree ensembles have no exact, fast SHAP
values; for those use `permutation_importance` and `sensitivity_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["ShapValues", "shap_values", "tree_member"]

_SKLEARN_TREES = ("RandomForest", "ExtraTrees", "GradientBoosting", "DecisionTree", "HistGradientBoosting")


@dataclass
class ShapValues:
    """SHAP values of one ensemble member on some rows.

    ``values``: (rows, features, outputs) contributions; ``data``: the rows' feature values as the member
    sees them (after encoding and imputation); ``base``: expected output per output; ``space``: what the
    contributions add up to (``"target units"``, ``"log-odds"`` or ``"probability"``); ``member``: which
    ensemble member is explained.
    """

    values: np.ndarray
    data: pd.DataFrame
    base: np.ndarray
    outputs: list[str]
    space: str
    member: str

    def table(self, output: int = 0) -> pd.DataFrame:
        """The (rows, features) SHAP values of one output as a DataFrame."""
        return pd.DataFrame(self.values[:, :, output], columns=self.data.columns)

    def mean_abs(self) -> pd.Series:
        """Mean |SHAP| per feature, summed over outputs, largest first."""
        return pd.Series(np.abs(self.values).mean(axis=0).sum(axis=1), index=self.data.columns).sort_values(ascending=False)


def _kind(estimator) -> str | None:
    name = type(estimator).__name__
    if type(estimator).__module__.startswith("lightgbm"):
        return "lightgbm"
    # a median forest (MedianForestRegressor) is left out: a weighted median of training targets is not a sum
    # of per-feature path contributions, so TreeSHAP values would not add up to its prediction
    if name.startswith(_SKLEARN_TREES):
        return "sklearn"
    return None


def tree_member(predictor, names: list[str] | None = None) -> tuple[int, str] | None:
    """Position and name of the member SHAP explains: the best-ranked LightGBM member, else the best-ranked
    scikit-learn tree ensemble when `shap` is installed; None when there is neither. The name is the
    predictor's own record of its members' models; `names` serves predictors saved before it kept one."""
    import importlib.util

    has_shap = importlib.util.find_spec("shap") is not None
    names = getattr(predictor, "member_names", None) or names
    kinds = [_kind(member.named_steps["model"]) for member in predictor.members]
    # LightGBM first: its own TreeSHAP is fast; deep scikit-learn forests take far longer per row
    for wanted in ("lightgbm", "sklearn"):
        for i, kind in enumerate(kinds):
            if kind == wanted and (kind == "lightgbm" or has_shap):
                name = names[i] if names and i < len(names) else type(predictor.members[i].named_steps["model"]).__name__
                return i, name
    return None


def shap_values(predictor, F: pd.DataFrame, *, member_names: list[str] | None = None, max_rows: int | None = 500, seed: int = 0) -> ShapValues:
    """Exact TreeSHAP values of the final model's best tree-ensemble member on (a seeded subsample of) `F`.

    Raises `InputError` when no member is a tree ensemble (or only scikit-learn forests without `shap`).
    """
    from matforge.explain._inputs import sample_rows

    found = tree_member(predictor, member_names)
    if found is None:
        raise InputError(
            "no tree-ensemble member in this model to compute SHAP values for",
            hint="SHAP needs lightgbm, or random_forest/extra_trees (not median forests) with pip install 'matforge[explain]'; permutation importance works for every model",
        )  # fmt: skip
    index, name = found
    pipeline = predictor.members[index]
    rows = sample_rows(len(F), max_rows, seed)
    prep = pipeline[:-1]
    X = np.asarray(prep.transform(F.iloc[rows]), dtype=float)
    columns = [str(c) for c in prep.get_feature_names_out()]
    estimator = pipeline.named_steps["model"]
    classification = predictor.task == "classification"
    if _kind(estimator) == "lightgbm":
        raw = np.asarray(estimator.booster_.predict(X, pred_contrib=True))
        k = raw.shape[1] // (X.shape[1] + 1)
        raw = raw.reshape(len(X), k, X.shape[1] + 1).transpose(0, 2, 1)
        values, base = raw[:, :-1, :], raw[0, -1, :]
        space = "log-odds" if classification else "target units"
    else:
        import shap

        explainer = shap.TreeExplainer(estimator)
        # exact TreeSHAP on fully grown scikit-learn forests took minutes for 200 rows (thousands of leaves per
        # tree); beyond a few dozen rows use the path-attribution approximation (Saabas), which also adds up
        # to each prediction
        approximate = len(X) > 40
        values = np.asarray(explainer.shap_values(X, check_additivity=False, approximate=approximate))
        if values.ndim == 2:
            values = values[:, :, None]
        elif values.shape[0] != len(X):  # older shap: (outputs, rows, features)
            values = values.transpose(1, 2, 0)
        base = np.atleast_1d(np.asarray(explainer.expected_value, float))
        space = "probability" if classification else "target units"
    if classification:
        classes = [str(c) for c in estimator.classes_]
        outputs = [f"P({classes[1]})"] if values.shape[2] == 1 and len(classes) == 2 else [f"P({c})" for c in classes]
    else:
        outputs = [str(predictor.target)]
    return ShapValues(values=values, data=pd.DataFrame(X, columns=columns), base=base, outputs=outputs, space=space, member=name)
