"""Every figure function on small synthetic runs: it returns a Figure that actually shows data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from matforge import explain, report
from matforge.learn import load_run


def _drawn(fig) -> int:
    """Number of data artists in a figure (lines, patches, collections, images)."""
    assert isinstance(fig, Figure)
    count = sum(len(ax.lines) + len(ax.patches) + len(ax.collections) + len(ax.images) for ax in fig.axes)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return count


def test_run_figures_for_every_task(runs):
    for task, path in runs.items():
        run = load_run(path)
        oof, board, target = run.oof(), run.leaderboard(), run.card["target"]
        table = pd.read_parquet(path / "model" / "train_data.parquet")
        metric = "mae" if task == "regression" else "roc_auc"
        figures = [report.leaderboard_figure(board, metric), report.target_figure(table[target], target, run.task)]
        figures.append(report.periodic_table_figure(report.element_counts(table["formula"]), n_rows=len(table)))
        if task == "regression":
            figures += [report.parity_figure(oof, target), report.residual_figure(oof, target), report.calibration_figure(report.coverage_curve(oof))]
        else:
            figures += [report.confusion_figure(oof), report.roc_figure(oof), report.precision_recall_figure(oof), report.reliability_figure(oof)]
        figures.append(report.learning_curve_figure(report.learning_curve(run, folds=2, fractions=(0.5, 1.0))))
        for fig in figures:
            assert _drawn(fig) > 0, (task, fig.axes[0].get_title())


def test_roc_draws_one_curve_per_class_for_multiclass_and_one_for_binary(runs):
    for task, expected in (("binary", 1), ("multiclass", 3)):
        fig = report.roc_figure(load_run(runs[task]).oof())
        assert len(fig.axes[0].lines) == expected + 1  # plus the chance diagonal


def test_explanation_figures_for_every_task(runs):
    for path in runs.values():
        run = load_run(path)
        table = pd.read_parquet(path / "model" / "train_data.parquet")
        F = explain.features_of(run.predictor, table)
        y = table[run.card["target"]].to_numpy()
        importance = explain.permutation_importance(run.predictor, F, y, n_repeats=1, max_rows=40)
        curves = [explain.partial_dependence(run.predictor, F, f, grid=5, max_rows=20) for f in ("temperature", importance["feature"][0])]
        sensitivity = explain.sensitivity_matrix(run.predictor, F, features=["temperature", "MagpieData mean Number"], max_rows=30)
        assert _drawn(report.importance_figure(importance)) > 0
        assert _drawn(report.partial_dependence_figure(curves, {"temperature": F["temperature"].to_numpy()})) > 0
        assert _drawn(report.sensitivity_figure(sensitivity)) > 0


def test_shap_summary_of_a_tree_model(tree_run):
    run = load_run(tree_run)
    F = explain.features_of(run.predictor, pd.read_parquet(tree_run / "model" / "train_data.parquet"))
    shap = explain.shap_values(run.predictor, F, member_names=run.card["final_members"], max_rows=30)
    assert shap.member == "lightgbm" and shap.values.shape[:2] == shap.data.shape
    # TreeSHAP is exact: base value + contributions = the member's prediction
    member = run.predictor.members[0]
    np.testing.assert_allclose(shap.base[0] + shap.values[:, :, 0].sum(axis=1), member.predict(F.iloc[:30]) if len(F) <= 30 else member[-1].predict(shap.data.to_numpy()), rtol=1e-6, atol=1e-6)
    assert _drawn(report.shap_summary_figure(shap)) > 0


def test_periodic_table_places_elements_where_chemists_expect():
    assert report._periodic.table_position(1) == (1, 1)
    assert report._periodic.table_position(26) == (4, 8)  # Fe
    assert report._periodic.table_position(72) == (6, 4)  # Hf, after the lanthanides
    assert report._periodic.table_position(57)[0] > 7  # La in the f-block row below
    counts = report.element_counts(["Fe2O3", "FeO", "NaCl"])
    assert counts["Fe"] == 2 and counts["O"] == 2 and counts["Cl"] == 1


def test_coverage_curve_is_cross_conformal_and_matches_the_run(runs):
    run = load_run(runs["regression"])
    curve = report.coverage_curve(run.oof())
    at90 = float(curve.loc[np.isclose(curve["nominal"], 0.9), "conformal"].iloc[0])
    # the same held-out-fold check as IntervalCalibrator.cv_coverage_ in metrics.json
    assert at90 == pytest.approx(run.metrics["uncertainty"]["cv_coverage"], abs=1e-9)


def test_coverage_of_exact_gaussian_errors_is_nominal():
    rng = np.random.default_rng(0)
    n = 6000
    std = rng.uniform(0.5, 2.0, n)
    oof = pd.DataFrame({"fold": rng.integers(0, 5, n), "y_pred": 0.0, "y_std": std, "y_true": rng.normal(0, std)})
    curve = report.coverage_curve(oof)
    np.testing.assert_allclose(curve["conformal"], curve["nominal"], atol=0.02)
    np.testing.assert_allclose(curve["gaussian"], curve["nominal"], atol=0.03)
    assert report.miscalibration_area(curve) < 0.01
    # intervals half as wide as they should be: clearly below the diagonal
    narrow = report.coverage_curve(oof.assign(y_std=oof["y_std"] * np.where(oof["fold"] == 0, 0.3, 1.0)))
    assert narrow["conformal"].iloc[-2] < 0.9 - 0.01


def test_miscalibration_area_bounds():
    levels = np.linspace(0.05, 0.95, 19)
    assert report.miscalibration_area(pd.DataFrame({"nominal": levels, "conformal": levels})) == 0.0
    never = report.miscalibration_area(pd.DataFrame({"nominal": levels, "conformal": 0.0 * levels}))
    assert 0.45 < never <= 0.5


def test_domain_check_splits_rows_into_two_groups(runs):
    check = report.domain_check(load_run(runs["regression"]))
    assert list(check["group"]) == ["in domain", "out of domain"]
    assert check["rows"].sum() == load_run(runs["regression"]).metrics["n_samples"]
    assert check["fraction"].sum() == pytest.approx(1.0)


def test_features_given_once_give_the_same_learning_curve_and_domain_check(runs):
    # the report featurizes its table once and hands the features to both (a SMILES or structure column is slow)
    run = load_run(runs["regression"])
    table = pd.read_parquet(run.path / "model" / "train_data.parquet")
    features = run.predictor.featurizer.transform(table)
    kwargs = dict(folds=2, fractions=(0.5, 1.0))
    pd.testing.assert_frame_equal(report.learning_curve(run, table, **kwargs), report.learning_curve(run, table, features=features, **kwargs))
    pd.testing.assert_frame_equal(report.domain_check(run, table, max_rows=40), report.domain_check(run, table, max_rows=40, features=features))
