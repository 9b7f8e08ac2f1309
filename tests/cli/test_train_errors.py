"""Bad input: one clear line on stderr, exit code 2, and no run folder (not even a partial one) left behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.cli.app import main
from tests.conftest import random_formulas


def _good(n: int = 40) -> pd.DataFrame:
    formulas = random_formulas(n, seed=5)
    return pd.DataFrame({"formula": formulas, "y": np.linspace(0, 1, n)})


def _write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    if isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


def _case(name):
    def make(tmp_path):
        good = _good()
        cases = {
            "missing file": lambda: (str(tmp_path / "absent.csv"), ["--target", "y"]),
            "empty file": lambda: (_write(tmp_path, "empty.csv", ""), ["--target", "y"]),
            "header only": lambda: (_write(tmp_path, "header.csv", "formula,y\n"), ["--target", "y"]),
            "missing target": lambda: (_write(tmp_path, "t.csv", good), ["--target", "yield"]),
            "all-NaN target": lambda: (_write(tmp_path, "t.csv", good.assign(y=np.nan)), ["--target", "y"]),
            "non-numeric regression target": lambda: (_write(tmp_path, "t.csv", good.assign(y=["high"] + [0.5] * 39)), ["--target", "y", "--task", "regression"]),
            "single class": lambda: (_write(tmp_path, "t.csv", good.assign(y="A")), ["--target", "y", "--task", "classification"]),
            "one row": lambda: (_write(tmp_path, "t.csv", good.head(1)), ["--target", "y"]),
            "unknown element": lambda: (_write(tmp_path, "t.csv", good.assign(formula=["Xx2O3"] + good.formula[1:].tolist())), ["--target", "y", "--formula-col", "formula"]),
            "unparseable formula": lambda: (_write(tmp_path, "t.csv", good.assign(formula=good.formula[:-1].tolist() + ["Fe2(O3"])), ["--target", "y", "--formula-col", "formula"]),
            "wrong encoding": lambda: (_write(tmp_path, "latin.csv", b"formula,y,note\n" + "".join(f"{f},{v},caf\xe9\n" for f, v in zip(good.formula, good.y)).encode("latin-1")), ["--target", "y"]),
            "duplicate column names": lambda: (_write(tmp_path, "dup.csv", "formula,y,y\nFe2O3,1,2\n"), ["--target", "y"]),
            "inf values": lambda: (_write(tmp_path, "t.csv", good.assign(T=[np.inf] + [300.0] * 39)), ["--target", "y"]),
            "inf target": lambda: (_write(tmp_path, "t.csv", good.assign(y=[np.inf] + good.y[1:].tolist())), ["--target", "y"]),
            "unknown format": lambda: (_write(tmp_path, "data.xyz", "formula y\n"), ["--target", "y"]),
            "too few folds": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--cv", "1"]),
            "unknown model": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--models", "alphafold"]),
            "classifier for regression": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--models", "naive_bayes"]),
            "missing formula column": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--formula-col", "composition"]),
            "no usable column": lambda: (_write(tmp_path, "t.csv", pd.DataFrame({"id": [f"s{i}" for i in range(40)], "y": np.arange(40.0)})), ["--target", "y"]),
            "zero budget": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--budget", "0"]),
            "unknown preset": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--preset", "magpei"]),
            "unknown protocol": lambda: (_write(tmp_path, "t.csv", good), ["--target", "y", "--protocol", "loo"]),
        }
        return cases[name]()

    return make


CASES = [
    "missing file", "empty file", "header only", "missing target", "all-NaN target", "non-numeric regression target",
    "single class", "one row", "unknown element", "unparseable formula", "wrong encoding", "duplicate column names",
    "inf values", "inf target", "unknown format", "too few folds", "unknown model", "classifier for regression",
    "missing formula column", "no usable column", "zero budget", "unknown preset", "unknown protocol",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_training_input_gives_one_line_exit_2_and_no_run_folder(case, tmp_path, capsys):
    data, options = _case(case)(tmp_path)
    out = tmp_path / "run"
    code = main(["train", data, "--out", str(out), "--budget", "5", *options] if "--budget" not in options else ["train", data, "--out", str(out), *options])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    assert not out.exists()
    assert not (tmp_path / ".run.partial").exists()


def test_error_names_file_row_column_and_value(tmp_path, capsys):
    good = _good()
    data = _write(tmp_path, "t.csv", good.assign(formula=good.formula[:7].tolist() + ["Fe2Qq3"] + good.formula[8:].tolist()))
    assert main(["train", data, "--target", "y", "--formula-col", "formula", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "t.csv" in err and "row 7" in err and "column 'formula'" in err and "Fe2Qq3" in err


def test_output_never_overwrites_the_input(tmp_path, capsys):
    data = _write(tmp_path, "t.csv", _good())
    assert main(["train", data, "--target", "y", "--out", data]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert pd.read_csv(data).shape == (40, 2)


def test_ctrl_c_says_how_to_resume_in_one_line(tmp_path, capsys, monkeypatch):
    import matforge.learn

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(matforge.learn, "train", interrupted)
    data = _write(tmp_path, "t.csv", _good())
    assert main(["train", data, "--target", "y", "--out", str(tmp_path / "run")]) == 130
    assert "interrupted; run again with --resume" in capsys.readouterr().err
