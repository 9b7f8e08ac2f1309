"""`matforge benchmark matbench` on a synthetic MatBench-shaped folder: no leakage, every test row scored,
reproducible with a seed, resumable per fold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from tests.conftest import fcc_cell

from matforge.benchmark import TASKS, load_task, run_fold, run_matbench
from matforge.cli.app import main
from matforge.models import MODELS, ModelSpec

SEEN: list[np.ndarray] = []


class SpyRegressor(RegressorMixin, BaseEstimator):
    """Records the values of the last input column (the row id) of every fit; predicts the training mean."""

    def fit(self, X, y):
        SEEN.append(np.asarray(X)[:, -1].astype(int).copy())
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def _synthetic_steels(folder, n=60, seed=0):
    """Fe-Ni-Cr alloys with a known linear target, a numeric `tracer` column (each row's number, under a name that is not dropped as an identifier), some duplicate compositions."""
    rng = np.random.default_rng(seed)
    ni, cr = rng.uniform(0.0, 0.3, n).round(2), rng.uniform(0.0, 0.2, n).round(2)
    ni[5], cr[5] = ni[0], cr[0]  # a duplicate composition in fold 0: both rows must still be predicted
    formulas = [f"Fe{1 - a - b:.2f}Ni{a:.2f}Cr{b:.2f}" for a, b in zip(ni, cr, strict=True)]
    target = 1000 + 2000 * ni + 500 * cr + rng.normal(0, 5, n)
    task = TASKS["steels"]
    (folder / task.folder).mkdir(parents=True)
    pd.DataFrame({"composition": formulas, "tracer": np.arange(n), task.target: target}).to_csv(folder / task.folder / task.file)
    test_fold = np.arange(n) % 5
    pd.DataFrame({"row": np.arange(n), "mbid": [f"mb-steels-{i + 1:03d}" for i in range(n)], "test_fold": test_fold}).to_csv(folder / task.folder / "folds_matbench_v0.1.csv", index=False)
    return test_fold


def test_test_rows_never_reach_featurizer_selection_or_search(tmp_path, monkeypatch):
    from matforge.features._table import TableFeaturizer

    test_fold = _synthetic_steels(tmp_path)
    spy = ModelSpec("spy", "spy", ("regression",), lambda task, p, seed, n_jobs: SpyRegressor(), lambda t: {"k": t.suggest_int("k", 1, 3)}, {"k": 1}, "test")
    monkeypatch.setitem(MODELS, "spy", spy)
    featurized: list[np.ndarray] = []
    original_fit = TableFeaturizer.fit

    def fit(self, X, y=None):
        featurized.append(X["tracer"].to_numpy(dtype=int))
        return original_fit(self, X, y)

    monkeypatch.setattr(TableFeaturizer, "fit", fit)
    SEEN.clear()
    frame, folds, _ = load_task(tmp_path, "steels")
    record, predictions = run_fold(frame, folds, 2, TASKS["steels"], budget=1.0, models=["spy", "ridge"], seed=0)
    test_ids = set(np.flatnonzero(test_fold == 2).tolist())
    assert len(SEEN) > 3  # inner-CV trials and the final fit all went through the spy
    for rows in SEEN + featurized:
        assert not test_ids & set(rows.tolist())
    assert set(np.concatenate(SEEN).tolist()) | test_ids == set(range(len(frame)))
    assert sorted(predictions["row"].tolist()) == sorted(test_ids)
    assert record["n_test"] == len(test_ids) and np.isfinite(record["scores"]["mae"])
    # the fold says how the budget was planned: what the probe timed, how many models past any deadline
    assert set(record["plan"]["probe_seconds"]) == {"spy", "ridge"} and record["plan"]["floor_models"] >= 1
    json.dumps(record["plan"])
    # and what each search took against that plan: the default trial and the chosen configuration's fit, measured
    timing = {entry["model"]: entry for entry in record["final_tuning"]}
    assert set(timing) == {"spy", "ridge"}
    for entry in timing.values():
        assert entry["expected_seconds"] > 0 and entry["default_seconds"] > 0 and entry["fit_seconds"] > 0
    json.dumps(record["final_tuning"])


def test_same_seed_same_results_and_duplicates_predicted(tmp_path):
    _synthetic_steels(tmp_path)
    frame, folds, _ = load_task(tmp_path, "steels")
    frame = frame.drop(columns="tracer")
    # a generous time limit and a trial cap that binds first: nothing depends on the machine's speed
    first = run_fold(frame, folds, 0, TASKS["steels"], budget=300.0, max_trials=4, models=["ridge", "knn"], seed=3)
    second = run_fold(frame, folds, 0, TASKS["steels"], budget=300.0, max_trials=4, models=["ridge", "knn"], seed=3)
    pd.testing.assert_frame_equal(first[1], second[1])
    assert first[0]["scores"] == second[0]["scores"]
    pair = first[1].set_index("row").loc[[0, 5], "y_pred"]
    assert pair.iloc[0] == pair.iloc[1]
    merged = run_fold(frame, folds, 1, TASKS["steels"], budget=1.0, models=["ridge"], seed=3)[0]
    assert merged["n_train_after_merge"] < merged["n_train"] and merged["n_test"] == 12  # rows 0 and 5 merged
    # the known linear target is learned well (MAE far below the target's spread)
    assert first[0]["scores"]["mae"] < 0.25 * np.mean(np.abs(frame[TASKS["steels"].target] - frame[TASKS["steels"].target].mean()))


def test_cli_writes_results_and_resumes_per_fold(tmp_path, capsys):
    _synthetic_steels(tmp_path / "data")
    out = tmp_path / "bench"
    args = ["benchmark", "matbench", "--data-dir", str(tmp_path / "data"), "--tasks", "steels", "--folds", "0,1", "--budget", "1", "--models", "ridge,knn", "--out", str(out)]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    steels = results["tasks"]["steels"]
    assert steels["folds"] == [0, 1] and len(steels["per_fold"]) == 2
    assert set(steels["mean"]) == {"mae", "rmse", "r2"} and results["machine"]["cores"] >= 1
    # where each fold's time went: its final searches, their parameters left to the fold records
    assert {entry["model"] for entry in steels["per_fold"][0]["searches"]} == {"ridge", "knn"}
    assert all("params" not in entry and entry["seconds"] >= 0 for entry in steels["per_fold"][0]["searches"])
    # AutoModel's own seconds (what --budget bounds) within the fold's, which add the test rows' prediction
    assert all(0 < fold["fit_seconds"] <= fold["seconds"] for fold in steels["per_fold"])
    assert "TPOT-Mat" in (out / "results.md").read_text()
    before = (out / "steels" / "fold_0.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "steels" / "fold_0.json").stat().st_mtime_ns == before  # reused, not recomputed
    assert "reused" in capsys.readouterr().err
    # the second run's wall time is the read-back's, and the record and table say so
    assert json.loads((out / "results.json").read_text())["folds_reused"] == 2
    assert "2 of the 2 folds read back from earlier runs" in (out / "results.md").read_text()


@pytest.mark.parametrize("bad", [["--tasks", "nope"], ["--folds", "7"], ["--budget", "0"], ["--trials", "0"]])
def test_cli_bad_input_exits_2(tmp_path, bad):
    _synthetic_steels(tmp_path / "data")
    args = ["benchmark", "matbench", "--data-dir", str(tmp_path / "data"), "--tasks", "steels", "--out", str(tmp_path / "o"), *bad]
    assert main(args) == 2


def test_missing_data_dir_exits_2(tmp_path):
    assert main(["benchmark", "matbench", "--data-dir", str(tmp_path), "--tasks", "steels", "--out", str(tmp_path / "o")]) == 2


def test_classification_fold_scores_roc_auc(tmp_path):
    rng = np.random.default_rng(1)
    n = 80
    a = rng.uniform(0, 1, n).round(2)
    formulas = [f"Cu{1 - x:.2f}Zr{x:.2f}" if x > 0 else "Cu" for x in a]
    label = a > 0.5
    task = TASKS["glass"]
    (tmp_path / task.folder).mkdir()
    pd.DataFrame({"composition": formulas, task.target: label}).to_csv(tmp_path / task.folder / task.file)
    pd.DataFrame({"row": np.arange(n), "mbid": [f"mb-glass-{i}" for i in range(n)], "test_fold": np.arange(n) % 5}).to_csv(tmp_path / task.folder / "folds_matbench_v0.1.csv", index=False)
    results = run_matbench(tmp_path, "glass", tmp_path / "out", folds=[0], budget=1.0, models=["logistic", "knn"])
    scores = results["tasks"]["glass"]["mean"]
    assert scores["roc_auc"] > 0.9 and set(scores) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "matbench_roc_auc", "roc_auc_of_labels"}
    # matforge submits probabilities, which MatBench scores as they are; a submission of labels would score
    # the ROC-AUC of the labels, i.e. their balanced accuracy
    assert scores["matbench_roc_auc"] == pytest.approx(scores["roc_auc"])
    assert scores["roc_auc_of_labels"] == pytest.approx(scores["balanced_accuracy"])


def test_a_structure_task_reads_the_structure_and_not_the_columns_beside_it(tmp_path, monkeypatch):
    """jdft2d/phonons files carry a row number, the reduced formula and a text written from the structure
    beside it: only the structure is an input."""

    from matforge.features._table import TableFeaturizer

    rng = np.random.default_rng(1)
    lattices = rng.uniform(4.5, 6.5, 40)
    task = TASKS["phonons"]
    (tmp_path / task.folder).mkdir(parents=True)
    salts = [fcc_cell(a, ("Na", "K")[i % 2], "Cl") for i, a in enumerate(lattices)]
    pd.DataFrame({
        "index": np.arange(40), "formula": [s.composition.reduced_formula for s in salts], "structure": [str(s.as_dict()) for s in salts],
        "description": [f"rock salt, a = {a:.2f} Å" for a in lattices], task.target: 900 - 100 * lattices,
    }).to_csv(tmp_path / task.folder / task.file, index=False)  # fmt: skip
    pd.DataFrame({"row": np.arange(40), "mbid": [f"mb-phonons-{i + 1:04d}" for i in range(40)], "test_fold": np.arange(40) % 5}).to_csv(tmp_path / task.folder / "folds_matbench_v0.1.csv", index=False)
    seen: list[list[str]] = []
    original_fit = TableFeaturizer.fit

    def fit(self, X, y=None):
        seen.append(list(X.columns))
        return original_fit(self, X, y)

    monkeypatch.setattr(TableFeaturizer, "fit", fit)
    frame, folds, _ = load_task(tmp_path, "phonons")
    record, predictions = run_fold(frame, folds, 0, task, budget=2.0, models=["ridge"], seed=0)
    assert seen and all(columns == ["structure"] for columns in seen)
    assert record["scores"]["mae"] < 15  # the bond length carries the target (100 cm^-1 per Å of lattice)
