import numpy as np
import pandas as pd
import pytest

from matforge.errors import InputError
from matforge.explore import per_group_errors


def test_errors_per_fold_worst_first():
    oof = pd.DataFrame({"y_true": [1.0, 2.0, 3.0, 5.0], "y_pred": [1.5, 2.5, 1.0, 9.0], "fold": [0, 0, 1, 1]})
    table = per_group_errors(oof)
    assert table["group"].tolist() == [1, 0]
    assert table.loc[0, "mae"] == pytest.approx(3.0)
    assert table.loc[0, "rmse"] == pytest.approx(np.sqrt((4 + 16) / 2))
    assert table.loc[0, "bias"] == pytest.approx(1.0)
    assert table.loc[1, "n"] == 2 and table.loc[1, "y_mean"] == pytest.approx(1.5)


def test_accuracy_per_group_for_classification():
    oof = pd.DataFrame({"y_true": ["a", "b", "a", "b"], "y_pred": ["a", "b", "b", "b"]})
    table = per_group_errors(oof, groups=["Fe-O", "Fe-O", "Na-Cl", "Na-Cl"])
    assert table.set_index("group")["accuracy"].to_dict() == {"Na-Cl": 0.5, "Fe-O": 1.0}


def test_mismatched_groups_raise():
    with pytest.raises(InputError, match="group labels"):
        per_group_errors(pd.DataFrame({"y_true": [1.0], "y_pred": [1.0]}), groups=[0, 1])
