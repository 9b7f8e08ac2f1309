import numpy as np
import pandas as pd
import pytest

from matforge.errors import InputError
from matforge.explore import find_outliers, outlier_notes


def test_planted_outlier_is_flagged_and_ranked_first():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 6)), np.full((1, 6), 8.0)])
    table = find_outliers(X, seed=0)
    assert table["is_outlier"].iloc[-1]
    assert table["outlier_score"].idxmax() == 300
    assert table["is_outlier"].iloc[:300].mean() < 0.03


def test_identical_features_with_different_targets_conflict():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(40, 4)), [[1, 1, 1, 1]] * 2, [[2, 2, 2, 2]] * 2])
    y = np.r_[rng.normal(size=40), 0.0, 3.0, 0.5, 0.5]
    table = find_outliers(X, y)
    assert table["duplicate_group"].iloc[:40].eq(-1).all()
    assert table["n_duplicates"].iloc[40:].tolist() == [2, 2, 2, 2]
    assert table["conflicting_target"].tolist()[40:] == [True, True, False, False]
    assert table["target_spread"].iloc[40] == pytest.approx(3.0)


def test_conflicting_class_labels_are_found():
    X = np.vstack([np.eye(5), [[9, 9, 9, 9, 9]] * 2])
    table = find_outliers(X, pd.Series(["a", "b", "a", "b", "a", "metal", "insulator"]))
    assert table["conflicting_target"].tolist() == [False] * 5 + [True, True]


def test_notes_name_the_rows_in_the_users_file():
    X = np.vstack([np.random.default_rng(2).normal(size=(100, 3)), [[30, 30, 30]], [[1, 1, 1]] * 2])
    table = find_outliers(X, np.r_[np.zeros(101), 1.0, 9.0])
    notes = outlier_notes(table, row_ids=np.arange(100, 203))
    assert any("200" in n and "isolation forest" in n for n in notes)
    assert any("disagree on the target" in n and "201, 202" in n for n in notes)


def test_a_fixed_share_of_outliers_can_be_asked_for():
    table = find_outliers(np.random.default_rng(3).normal(size=(200, 3)), contamination=0.05)
    assert table["is_outlier"].sum() == 10
    with pytest.raises(InputError, match="contamination"):
        find_outliers(np.zeros((5, 2)), contamination=0.9)
