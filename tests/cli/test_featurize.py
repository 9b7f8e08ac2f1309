"""`matforge featurize`: outputs, exit codes, skipped rows, and nothing half-written."""

import numpy as np
import pandas as pd
import pytest

import matforge.cli.featurize  # noqa: F401  (registers the command in this process; see the last test)
from matforge.cli.app import main
from matforge.features import make_featurizer
from tests.conftest import fcc_cell

FORMULAS = ["Fe2O3", "SrTiO3", "Ca3(PO4)2", "CuSO4·5H2O", "NaCl"]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "materials.csv"
    pd.DataFrame({"id": range(len(FORMULAS)), "formula": FORMULAS, "gap": np.linspace(0, 2, len(FORMULAS))}).to_csv(
        path, index=False
    )
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_input_columns_and_magpie_features(table, tmp_path, suffix):
    out = tmp_path / f"features{suffix}"
    assert main(["featurize", str(table), "--formula-col", "formula", "--out", str(out), "--chunk-rows", "2"]) == 0
    result = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    expected = make_featurizer("magpie").fit_transform(FORMULAS)
    assert list(result.columns[:3]) == ["id", "formula", "gap"]
    assert result.shape == (len(FORMULAS), 3 + 145)
    np.testing.assert_allclose(result.iloc[:, 3:].to_numpy(dtype=float), expected, rtol=1e-12)


def test_bad_formula_fails_with_exit_2_and_one_line_naming_row(table, tmp_path, capsys):
    frame = pd.read_csv(table)
    frame.loc[3, "formula"] = "Fe2(O3"
    frame.to_csv(table, index=False)
    out = tmp_path / "features.csv"
    assert main(["featurize", str(table), "--formula-col", "formula", "--out", str(out)]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    assert "row 3" in message and "unclosed bracket" in message and "character 4" in message
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [table]  # no temporary file left behind


def test_skip_writes_good_rows_and_lists_rejected_ones(table, tmp_path):
    frame = pd.read_csv(table)
    frame.loc[1, "formula"] = "Xx2O3"
    frame.loc[4, "formula"] = np.nan
    frame.to_csv(table, index=False)
    out = tmp_path / "features.parquet"
    code = main(["featurize", str(table), "--formula-col", "formula", "--out", str(out), "--on-error", "skip"])
    assert code == 0
    assert pd.read_parquet(out)["id"].tolist() == [0, 2, 3]
    rejected = pd.read_csv(tmp_path / "features.rejected.csv")
    assert rejected["row"].tolist() == [1, 4]
    assert "unknown element symbol 'Xx'" in rejected["reason"][0]
    assert "missing formula" in rejected["reason"][1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--formula-col", "composition"], "no column named 'composition'"),
        (["--formula-col", "formula", "--preset", "magpy"], "unknown featurizer or preset"),
        (["--formula-col", "formula", "--on-error", "ignore"], "--on-error"),
    ],
)
def test_bad_options_exit_2(table, tmp_path, capsys, args, message):
    out = tmp_path / "features.csv"
    assert main(["featurize", str(table), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_refuses_to_overwrite_its_input(table, capsys):
    before = table.read_bytes()
    assert main(["featurize", str(table), "--formula-col", "formula", "--out", str(table)]) == 2
    assert "overwrite an input" in capsys.readouterr().err
    assert table.read_bytes() == before


def test_unknown_output_format_and_missing_input_exit_2(table, tmp_path, capsys):
    assert main(["featurize", str(table), "--formula-col", "formula", "--out", str(tmp_path / "f.xlsx")]) == 2
    assert main(["featurize", str(tmp_path / "nope.csv"), "--formula-col", "formula", "--out", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert ".csv or .parquet" in err and "not found" in err


def test_header_only_table_exits_2(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("formula,gap\n")
    out = tmp_path / "features.csv"
    assert main(["featurize", str(path), "--formula-col", "formula", "--out", str(out)]) == 2
    assert "no data rows" in capsys.readouterr().err
    assert not out.exists()


def test_all_rows_rejected_gives_a_table_with_its_header(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("formula,gap\nXx,1\nQq2,2\n")
    out = tmp_path / "features.csv"
    code = main(["featurize", str(path), "--formula-col", "formula", "--out", str(out), "--preset", "stoichiometry",
                 "--on-error", "skip"])  # fmt: skip
    assert code == 0
    assert pd.read_csv(out).shape == (0, 2 + 6)
    assert len(pd.read_csv(tmp_path / "features.rejected.csv")) == 2


def test_featurize_is_registered_on_the_matforge_command():
    # a fresh interpreter, so that only the registration in matforge.cli.app makes the command known
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "from matforge.cli.app import main; raise SystemExit(main(['featurize', '--help']))"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--formula-col" in done.stdout


def test_help_lists_the_command(capsys):
    assert main(["featurize", "--help"]) == 0
    assert "--formula-col" in capsys.readouterr().out


def test_help_texts_keep_the_names_of_extras(capsys):
    # rich reads "[dist]" as a markup tag and drops it unless escaped
    for command, extras in ((["train"], ("[polymer]", "[dist]")), (["featurize"], ("[polymer]", "[dist]")), (["screen"], ("[dist]",)), (["benchmark", "matbench"], ("[dist]",))):
        assert main([*command, "--help"]) == 0
        out = capsys.readouterr().out
        for extra in extras:
            assert extra in out, (command, extra)


def test_a_structure_column_gets_composition_and_structure_features_and_bad_cells_are_skipped(tmp_path, capsys):

    from matforge.features import StructureFeatures

    salts = [fcc_cell(a, cation, "Cl") for cation, a in (("Na", 5.64), ("K", 6.29), ("Na", 5.3))]
    (tmp_path / "cif").mkdir()
    for i, s in enumerate(salts):
        s.to(filename=str(tmp_path / "cif" / f"{i}.cif"))
    table = tmp_path / "crystals.csv"
    pd.DataFrame({"cif": ["cif/0.cif", "cif/1.cif", "cif/missing.cif", "cif/2.cif"], "gap": [8.5, 8.4, 0.0, 8.6]}).to_csv(table, index=False)
    out = tmp_path / "features.parquet"
    assert main(["featurize", str(table), "--structure-col", "cif", "--out", str(out), "--chunk-rows", "2"]) == 2
    assert "row 2" in capsys.readouterr().err and not out.exists()
    assert main(["featurize", str(table), "--structure-col", "cif", "--out", str(out), "--chunk-rows", "2", "--on-error", "skip"]) == 0
    result = pd.read_parquet(out)
    assert list(result["cif"]) == ["cif/0.cif", "cif/1.cif", "cif/2.cif"] and result.shape[1] == 2 + 145 + len(StructureFeatures.feature_labels())
    np.testing.assert_allclose(result.iloc[:, 2:147].to_numpy(dtype=float), make_featurizer("magpie").fit_transform(["NaCl", "KCl", "NaCl"]), rtol=1e-12)
    np.testing.assert_allclose(result[StructureFeatures.feature_labels()].to_numpy(dtype=float), StructureFeatures().fit().transform(salts), rtol=1e-6, atol=1e-9)  # CIF rounds coordinates
    rejected = pd.read_csv(tmp_path / "features.rejected.csv")
    assert list(rejected["row"]) == [2] and "missing.cif" in rejected.loc[0, "reason"]
    assert main(["featurize", str(table), "--out", str(tmp_path / "x.csv")]) == 2  # which column: one must be named
    # the folder itself is a table of its structure files, read as the column 'structure'
    assert main(["featurize", str(tmp_path / "cif"), "--out", str(tmp_path / "folder.csv")]) == 0
    folder = pd.read_csv(tmp_path / "folder.csv")
    assert list(folder["structure"]) == ["cif/0.cif", "cif/1.cif", "cif/2.cif"]
    np.testing.assert_allclose(folder.iloc[:, 1:].to_numpy(dtype=float), result.iloc[:, 2:].to_numpy(dtype=float), rtol=1e-12)
    (tmp_path / "cif" / "3.cif").write_text("data_broken\n_cell_length_a 5.6\n")
    capsys.readouterr()
    assert main(["featurize", str(tmp_path / "cif"), "--out", str(tmp_path / "broken.csv")]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "row 3" in message and "cif/3.cif" in message and not (tmp_path / "broken.csv").exists()
