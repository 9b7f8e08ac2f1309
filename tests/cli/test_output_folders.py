"""An output folder replaces only a folder matforge wrote: never the user's own folder, a folder holding an
input, the current directory or a file (each refused with exit 2 before any work)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from matforge.cli.app import main
from matforge.errors import InputError
from matforge.files import MARKER, atomic_dir, atomic_file, check_output_dir
from tests.cli.test_train_errors import _good, _write


def test_a_folder_matforge_did_not_write_is_never_replaced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("important")
    with pytest.raises(InputError, match="not written by matforge"):
        with atomic_dir(mine) as folder:
            (folder / "out.csv").write_text("x")
    assert (mine / "notes.txt").read_text() == "important" and not (mine / "out.csv").exists()
    # an empty folder, a new path and a folder matforge wrote are fine; what matforge writes carries the marker
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "new", tmp_path / "new"):
        with atomic_dir(path) as folder:
            (folder / "out.csv").write_text("x")
        assert (path / MARKER).exists() and (path / "out.csv").exists()
    # a run folder written before the marker existed (model card and model) is one matforge wrote
    old_run = tmp_path / "old_run"
    (old_run / "model").mkdir(parents=True)
    (old_run / "metrics.json").write_text("{}")
    assert check_output_dir(old_run) == old_run


def test_a_folder_holding_an_input_the_cwd_or_a_file_is_refused(tmp_path, monkeypatch):
    run = tmp_path / "run"
    with atomic_dir(run) as folder:
        (folder / "data.csv").write_text("formula,y\n")
    with pytest.raises(InputError, match="holds an input"):
        check_output_dir(run, run / "data.csv")
    with pytest.raises(InputError, match="holds an input"):
        check_output_dir(run, run)  # explain RUN --out RUN
    monkeypatch.chdir(run)
    with pytest.raises(InputError, match="current directory"):
        check_output_dir(".")
    with pytest.raises(InputError, match="current directory"):
        check_output_dir("..")
    with pytest.raises(InputError, match="names an existing file"):
        check_output_dir(run / "data.csv")
    with pytest.raises(InputError, match="which is a file"):
        check_output_dir(run / "data.csv" / "sub")
    with pytest.raises(InputError, match="part of the path is a file"):
        with atomic_file(run / "data.csv" / "predictions.csv"):  # matforge predict --out data.csv/predictions.csv
            pass


@pytest.mark.parametrize("where", ["folder of the data", "own folder", "dot", "existing file"])
def test_train_refuses_such_an_out_before_training(where, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    data = _write(folder, "t.csv", _good())
    (folder / "notes.txt").write_text("important")
    other = tmp_path / "results"
    other.mkdir()
    (other / "table.xlsx").write_text("not ours")
    out = {"folder of the data": str(folder), "own folder": str(other), "dot": ".", "existing file": str(other / "table.xlsx")}[where]
    monkeypatch.chdir(folder)
    code = main(["train", data, "--target", "y", "--out", out, "--budget", "5"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err, err
    assert sorted(os.listdir(folder)) == ["notes.txt", "t.csv"] and pd.read_csv(data).shape == (40, 2)
    assert sorted(os.listdir(other)) == ["table.xlsx"]
