"""read_table reads every format the same way; prepare_dataset finds roles, merges duplicates, groups materials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.data import load_dataset, prepare_dataset, read_table
from matforge.errors import InputError

TABLE = pd.DataFrame({
    "sample": [f"S{i:03d}" for i in range(30)],
    "formula": ["Fe2O3", "Fe4O6", "NiO", "CuO", "ZnO", "TiO2", "SrTiO3", "BaTiO3", "MgO", "CaO"] * 3,
    "anneal_T_K": [300.0, 300.0, 400, 500, 600, 700, 800, 900, 1000, 1100] * 3,
    "atmosphere": ["air", "air", "Ar", "N2", "air", "Ar", "N2", "air", "Ar", "N2"] * 3,
    "strength": np.arange(30, dtype=float),
})  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".json", ".parquet", ".jsonl"])
def test_every_format_reads_back_the_same_table(suffix, tmp_path):
    path = tmp_path / f"data{suffix}"
    writers = {
        ".csv": lambda: TABLE.to_csv(path, index=False), ".tsv": lambda: TABLE.to_csv(path, sep="\t", index=False),
        ".xlsx": lambda: TABLE.to_excel(path, index=False), ".json": lambda: TABLE.to_json(path, orient="records"),
        ".parquet": lambda: TABLE.to_parquet(path), ".jsonl": lambda: TABLE.to_json(path, orient="records", lines=True),
    }  # fmt: skip
    writers[suffix]()
    frame = read_table(path)
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), TABLE, check_dtype=False)


def test_a_saved_pandas_index_column_is_dropped(tmp_path):
    path = tmp_path / "indexed.csv"
    TABLE.to_csv(path)
    assert list(read_table(path).columns) == list(TABLE.columns)


def test_roles_are_detected_and_identifiers_dropped():
    data = prepare_dataset(TABLE, "strength")
    assert data.formula_cols == ["formula"]
    assert data.numeric_cols == ["anneal_T_K"]
    assert data.categorical_cols == ["atmosphere"]
    assert "sample" in data.dropped_cols
    assert data.task == "regression"


def test_a_named_row_counter_is_dropped_but_a_property_of_the_same_name_is_kept():
    table = TABLE.assign(index=np.random.default_rng(0).permutation(30) + 100, ID=np.arange(30))  # MatBench's csv files have 'index'
    data = prepare_dataset(table, "strength")
    assert {"index", "ID"} <= set(data.dropped_cols) and data.numeric_cols == ["anneal_T_K"]
    assert any("'index' dropped" in note and "row counter" in note for note in data.notes)
    repeated = TABLE.assign(index=[1.0, 2.0] * 15)  # not distinct: a value, whatever its name
    assert "index" in prepare_dataset(repeated, "strength").numeric_cols


def test_a_smiles_column_is_an_input_with_rdkit_and_named_as_such_when_dropped_without(monkeypatch):
    import matforge.data._dataset as dataset

    smiles = [f"*CC(*){'C' * i}c1ccccc1" if i % 2 else f"*CC(*)C(=O)O{'C' * i}" for i in range(30)]  # 30 polymers
    monkeypatch.setattr(dataset, "rdkit_available", lambda: False)
    data = prepare_dataset(TABLE.assign(psmiles=smiles), "strength")
    assert "psmiles" in data.dropped_cols and any("'psmiles' dropped: it holds SMILES" in note and "matforge[polymer]" in note for note in data.notes)
    assert any("'sample' dropped" in note and "identifier" in note for note in data.notes)  # S001, S002, ...: not SMILES
    monkeypatch.undo()
    pytest.importorskip("rdkit")
    data = prepare_dataset(TABLE.assign(psmiles=smiles), "strength")
    assert data.smiles_cols == ["psmiles"] and data.formula_cols == ["formula"] and "psmiles" in data.frame.columns
    # every row a different polymer: nothing merged, and a group is a (composition, polymer) pair
    assert data.duplicates_merged == 0 and len(set(data.groups)) == 30


def test_duplicate_inputs_are_merged_with_the_median_target_and_the_same_composition_is_one_group():
    data = prepare_dataset(TABLE, "strength")
    # each of the 10 (formula, T, atmosphere) inputs appears 3 times; Fe2O3 and Fe4O6 at 300 K in air are the same too
    assert len(data.y) == 9 and data.duplicates_merged == 21
    fe = data.frame["formula"].isin(["Fe2O3", "Fe4O6"])
    assert data.y[fe].tolist() == [np.median([0, 1, 10, 11, 20, 21])]
    assert len(np.unique(data.groups)) == 9
    # each merged row stands for the rows it replaced: 3 each, 6 for the Fe2O3/Fe4O6 pair, 30 in all
    assert data.weights.sum() == 30 and data.weights[fe.to_numpy()].tolist() == [6.0]
    assert set(data.weights[~fe.to_numpy()]) == {3.0}


def test_a_table_without_duplicates_has_no_weights():
    data = prepare_dataset(TABLE.iloc[:10].assign(anneal_T_K=np.arange(10) * 100.0), "strength")
    assert data.duplicates_merged == 0 and data.weights is None


def test_classification_task_is_detected_from_text_labels():
    data = prepare_dataset(TABLE.assign(phase=["bcc", "fcc", "hcp"] * 10), "phase", drop="strength")
    assert data.task == "classification" and data.classes == ["bcc", "fcc", "hcp"]


def test_several_formula_columns_are_allowed():
    frame = pd.DataFrame({"film": ["SrTiO3", "BaTiO3", "LaAlO3"] * 5, "substrate": ["MgO", "Si", "Al2O3"] * 5, "mismatch": np.arange(15.0)})
    data = prepare_dataset(frame, "mismatch", formula_cols="film,substrate")
    assert data.formula_cols == ["film", "substrate"]


def test_every_problem_is_reported_at_once():
    bad = TABLE.assign(formula=["Xx"] + TABLE.formula[1:-1].tolist() + ["Fe(O"])
    with pytest.raises(InputError) as info:
        prepare_dataset(bad, "strength", formula_cols="formula")
    assert len(info.value.problems) == 2
    assert info.value.row == 0 and "1 more problem" in str(info.value)


def _alloys(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    ni = rng.uniform(0.05, 0.6, n).round(3)
    return pd.DataFrame({"formula": [f"Fe{1 - x:.3f}Ni{x:.3f}" for x in ni], "temperature": rng.choice([300.0, 500.0, 700.0], n),
                         "hardness": (20 + 40 * ni + rng.normal(0, 1, n)).round(2)})


def test_a_numeric_target_with_a_few_text_cells_is_regression_with_the_cells_reported():
    table = _alloys().astype({"hardness": object})
    table.loc[3, "hardness"], table.loc[9, "hardness"] = "n/a?", "12,5"
    with pytest.raises(InputError) as info:
        prepare_dataset(table, "hardness")
    assert [(p.row, p.value) for p in info.value.problems] == [(3, "n/a?"), (9, "12,5")]
    # the first problem's value comes with it, before the others
    assert str(info.value).startswith("row 3, column 'hardness': the target of a regression must be a number (value 'n/a?'); and 1 more problem: row 9")


def test_a_target_with_about_one_value_per_row_is_refused_as_classes():
    with pytest.raises(InputError, match="distinct values in 60 rows: too many for classes"):
        prepare_dataset(_alloys(), "formula")
    with pytest.raises(InputError, match="only one value"):
        prepare_dataset(_alloys().assign(hardness=5.0), "hardness")


def test_a_number_column_with_a_few_text_cells_is_numeric_with_the_cells_reported():
    table = _alloys().astype({"temperature": object})
    table.loc[2, "temperature"], table.loc[7, "temperature"] = "hot", "300 K"
    with pytest.raises(InputError) as info:
        prepare_dataset(table, "hardness")
    assert [(p.row, p.column, p.value) for p in info.value.problems] == [(2, "temperature", "hot"), (7, "temperature", "300 K")]
    # a code column that is mostly numbers ('1001', ..., '1017b') gets the same report: the message says how to leave it out
    assert "--drop 'temperature'" in str(info.value)
    assert prepare_dataset(table.drop(index=[2, 7]), "hardness").numeric_cols == ["temperature"]


def test_a_formula_column_with_many_typos_is_formulas_with_the_typos_reported():
    table = _alloys()
    table.loc[::3, "formula"] = table.loc[::3, "formula"].str.replace("Fe", "FE")  # a third of the rows
    with pytest.raises(InputError) as info:
        prepare_dataset(table, "hardness")
    assert len(info.value.problems) == 20 and {p.column for p in info.value.problems} == {"formula"}


def test_too_few_rows_left_once_duplicates_are_merged_is_refused(tmp_path):
    from matforge.learn import train

    table = pd.DataFrame({"temperature": [300.0, 400.0, 500.0] * 10, "hardness": np.arange(30.0)})
    with pytest.raises(InputError, match="only 3 distinct inputs once the 27 duplicate rows are merged"):
        train(table, "hardness", tmp_path / "run", budget=5)
    assert not (tmp_path / "run").exists()


def test_boolean_classes_keep_their_names():
    data = prepare_dataset(_alloys().assign(glass=[True, False] * 30), "glass", drop="hardness")
    assert data.task == "classification" and sorted(set(data.y)) == ["False", "True"]


def test_a_csv_with_semicolons_between_columns_says_so(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("formula;temperature;hardness\nFe0.5Ni0.5;300;12,5\n")
    with pytest.raises(InputError, match="separated by ';'"):
        read_table(path)


def test_the_embedded_transport_database_loads_offline():
    frame = load_dataset("transport")
    assert frame.shape == (47737, 12)
    assert {"formula", "S_p", "m_n"} <= set(frame.columns)


def test_duplicates_of_a_large_table_are_kept_as_rows_and_still_grouped(monkeypatch):
    import matforge.models._registry as registry

    monkeypatch.setattr(registry, "LARGE_ROWS", 20)  # TABLE's 30 rows count as large
    data = prepare_dataset(TABLE, "strength")
    assert len(data.y) == 30 and data.duplicates_merged == 0 and data.weights is None
    assert len(np.unique(data.groups)) == 9  # the same material never sits on both sides of a split
    assert any("kept as rows" in note for note in data.notes)
    # asked for explicitly, either way, whatever the size
    assert prepare_dataset(TABLE, "strength", aggregate_duplicates=True).duplicates_merged == 21
    monkeypatch.setattr(registry, "LARGE_ROWS", 50_000)
    assert prepare_dataset(TABLE, "strength", aggregate_duplicates=False).duplicates_merged == 0
