"""Partitioned featurize and predict: a 2-worker LocalCluster writes the same bytes as one process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.conftest import fcc_cell

from matforge.errors import InputError
from matforge.scale import featurize_parquet, predict_parquet, scheduler_from_options


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("part-*.parquet"))}


def test_local_cluster_featurize_is_byte_identical_to_single_process(tmp_path, alloys):
    table = alloys(900, seed=3)
    table.loc[5, "formula"] = "NaCl"
    table.to_parquet(tmp_path / "in.parquet", row_group_size=250)
    single = featurize_parquet(tmp_path / "in.parquet", tmp_path / "single", rows_per_partition=300)
    spread = featurize_parquet(tmp_path / "in.parquet", tmp_path / "cluster", rows_per_partition=300, scheduler="local", workers=2)
    assert len(_files(single)) == 3
    assert _files(single) == _files(spread)
    # the values are the library's, rows in input order, input columns kept
    from matforge.features import featurize

    got = pd.read_parquet(spread)
    expected = featurize(table["formula"])
    assert got["formula"].tolist() == table["formula"].tolist()
    assert np.array_equal(got[expected.columns].to_numpy(), expected.to_numpy())


def test_cluster_address_runs_featurize_and_predict_like_one_process(tmp_path, alloys, cluster, alloy_run):
    table = alloys(500, seed=4)
    table.to_csv(tmp_path / "in.csv", index=False)
    single = featurize_parquet(tmp_path / "in.csv", tmp_path / "f1", rows_per_partition=200)
    spread = featurize_parquet(tmp_path / "in.csv", tmp_path / "f2", rows_per_partition=200, scheduler=cluster.scheduler_address)
    assert _files(single) == _files(spread)

    from matforge.learn import load_run

    p1 = predict_parquet(alloy_run, tmp_path / "in.csv", tmp_path / "p1", rows_per_partition=150)
    p2 = predict_parquet(alloy_run, tmp_path / "in.csv", tmp_path / "p2", rows_per_partition=150, scheduler=cluster.scheduler_address)
    assert _files(p1) == _files(p2) and len(_files(p1)) == 4
    whole = load_run(alloy_run).predict(table)
    got = pd.read_parquet(p2)
    # the whole table at once may differ in the last bit (BLAS sums in an order set by the batch shape)
    np.testing.assert_allclose(got["prediction"].to_numpy(), whole["prediction"].to_numpy(), rtol=1e-12)
    assert got["in_domain"].tolist() == whole["in_domain"].tolist()


def test_bad_formula_is_reported_with_its_row_in_the_whole_input(tmp_path, alloys):
    table = alloys(50)
    table.loc[37, "formula"] = "Xx2O"
    table.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(InputError, match="row 37"):
        featurize_parquet(tmp_path / "in.parquet", tmp_path / "out", rows_per_partition=20)
    assert not (tmp_path / "out").exists()
    out = featurize_parquet(tmp_path / "in.parquet", tmp_path / "out", rows_per_partition=20, on_error="skip")
    rejected = pd.read_csv(out / "_rejected.csv")
    assert rejected["row"].tolist() == [37] and len(pd.read_parquet(out)) == 49


def test_interrupted_featurize_resumes_from_finished_partitions(tmp_path, alloys, monkeypatch):
    import matforge.scale._featurize as module

    alloys(400).to_parquet(tmp_path / "in.parquet")
    reference = featurize_parquet(tmp_path / "in.parquet", tmp_path / "ref", rows_per_partition=100)
    real = module._featurize_part
    calls = []

    def dies_on_third(part, **kw):
        calls.append(part.index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(part, **kw)

    monkeypatch.setattr(module, "_featurize_part", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        featurize_parquet(tmp_path / "in.parquet", tmp_path / "out", rows_per_partition=100)
    assert not (tmp_path / "out").exists()
    calls.clear()
    monkeypatch.setattr(module, "_featurize_part", lambda part, **kw: (calls.append(part.index), real(part, **kw))[1])
    out = featurize_parquet(tmp_path / "in.parquet", tmp_path / "out", rows_per_partition=100)
    assert calls == [2, 3]  # partitions 0 and 1 were finished files
    assert _files(out) == _files(reference)


def test_scheduler_options_are_checked():
    with pytest.raises(InputError, match="--workers needs"):
        with scheduler_from_options(None, 3):
            pass
    with pytest.raises(InputError, match="unknown scheduler"):
        with scheduler_from_options("somewhere", None):
            pass
    with scheduler_from_options(None, None) as client:
        assert client is None


def test_a_folder_of_crystal_structures_is_featurized_on_a_cluster_as_in_one_process(tmp_path):

    from matforge.cli.app import main

    folder = tmp_path / "cifs"
    (folder / "salts").mkdir(parents=True)
    for i, (cation, edge) in enumerate([("Na", 5.64), ("K", 6.29), ("Li", 5.13), ("Rb", 6.59), ("Cs", 7.0), ("Ag", 5.55)]):
        fcc_cell(edge, cation, "Cl").to(filename=str(folder / "salts" / f"{i}_{cation}Cl.cif"))
    (folder / "salts" / "9_broken.cif").write_text("data_x\n_cell_length_a 3\n")
    assert main(["featurize", str(folder), "--out", str(tmp_path / "one.csv"), "--on-error", "skip"]) == 0
    spread = featurize_parquet(folder, tmp_path / "cluster", structure_col="structure", rows_per_partition=3, scheduler="local", workers=2, on_error="skip")
    assert len(_files(spread)) == 3  # 7 files, 3 a partition
    one, got = pd.read_csv(tmp_path / "one.csv"), pd.read_parquet(spread)
    assert got["structure"].tolist() == one["structure"].tolist() == [f"cifs/salts/{i}_{c}Cl.cif" for i, c in enumerate(["Na", "K", "Li", "Rb", "Cs", "Ag"])]
    np.testing.assert_allclose(got[one.columns[1:]].to_numpy(), one[one.columns[1:]].to_numpy(), rtol=1e-9)
    rejected = pd.read_csv(spread / "_rejected.csv")
    assert rejected["row"].tolist() == [6] and rejected["structure"].tolist() == ["cifs/salts/9_broken.cif"]
    with pytest.raises(InputError, match="row 6"):
        featurize_parquet(folder, tmp_path / "failed", structure_col="structure", rows_per_partition=3)
    assert not (tmp_path / "failed").exists()


def test_a_folder_of_structure_files_is_cut_into_partitions_as_a_table(tmp_path):
    # scale predict takes what plain predict reads: a folder of CIFs as well as Parquet parts

    from matforge.scale._parts import plan_partitions

    folder = tmp_path / "cifs"
    folder.mkdir()
    for i, cation in enumerate(["Na", "K", "Li"]):
        fcc_cell(5.0 + i, cation, "Cl").to(filename=str(folder / f"{i}.cif"))
    parts = plan_partitions(folder, 2)
    assert [len(p.frame) for p in parts] == [2, 1] and parts[0].frame["structure"].tolist() == ["cifs/0.cif", "cifs/1.cif"]


def _warn_and_count(part):
    """Warn once (a UserWarning, as scikit-learn's notes are) and say how many warnings got past the filters."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.warn(f"length scale at its bound (partition {part})", UserWarning, stacklevel=1)
    return len(seen)


def test_workers_warn_as_the_submitting_process_would(cluster):
    import warnings

    from distributed import Client

    from matforge.scale._cluster import map_partitions

    with Client(cluster.scheduler_address) as client:
        with warnings.catch_warnings():
            # the CLI ignores such notes: a spawned worker does not inherit that, so map_partitions sends it along
            warnings.filterwarnings("ignore", message="length scale")
            # a category the workers cannot import (a notebook's own class) is left out there, not an unpickling error
            warnings.filterwarnings("ignore", category=type("OnlyHere", (UserWarning,), {"__module__": "no_such_module"}))
            assert map_partitions(_warn_and_count, [0, 1, 2], client=client) == [0, 0, 0]
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            assert map_partitions(_warn_and_count, [0, 1, 2], client=client) == [1, 1, 1]
