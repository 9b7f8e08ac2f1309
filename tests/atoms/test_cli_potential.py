"""`matforge potential ...`: exit codes, outputs, nothing half-written."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types

import numpy as np
import pytest

from matforge.cli import app as cli_app


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `matforge ARGS` through the real `main()` (error handling and exit codes) with this command group."""
    monkeypatch.setattr(cli_app, "_register", lambda: importlib.import_module("matforge.cli.potential"))
    if importlib.util.find_spec("click") is None:
        # typer ≥ 0.24 vendors click and no longer installs it, while `main()` catches click's exception
        # classes; give `main()` typer's own classes so these tests exercise its real exit-code mapping.
        import typer.exceptions
        from typer._click import exceptions as click_exceptions

        shim = types.SimpleNamespace(exceptions=types.SimpleNamespace(
            UsageError=click_exceptions.UsageError, Exit=typer.exceptions.Exit, Abort=typer.exceptions.Abort))
        monkeypatch.setitem(sys.modules, "click", shim)
    monkeypatch.setenv("MATFORGE_QUIET", "1")

    def run(*args):
        code = cli_app.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def soap_run(tmp_path_factory, emt_extxyz):
    from matforge.atoms import fit, read_frames, save_run

    run = tmp_path_factory.mktemp("runs") / "soap"
    save_run(fit(read_frames(emt_extxyz), engine="soap", n_sparse=60, n_max=4, l_max=3), run)
    return run


def test_fit_writes_run_folder_with_card(cli, emt_extxyz, tmp_path):
    code, out, err = cli("potential", "fit", emt_extxyz, "--engine", "soap", "--out", tmp_path / "run",
                         "--option", "n_sparse=40", "--option", "n_max=4", "--option", "l_max=3",
                         "--split", "frame", "--seed", "2")
    assert code == 0, err
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    assert card["engine"] == "soap" and card["seed"] == 2 and card["options"]["n_max"] == 4
    assert card["test_metrics"]["n_frames"] >= 1
    assert "held-out test" in out
    # soap has no early stopping: the validation share is trained on, not dropped, and --valid is refused
    n_frames = 8
    assert card["training"]["n_frames"] + card["test_metrics"]["n_frames"] == n_frames and card["training"]["n_val_frames"] == 0
    code, out, err = cli("potential", "fit", emt_extxyz, "--engine", "soap", "--out", tmp_path / "run2", "--valid", emt_extxyz)
    assert code == 2 and "--valid is for the neural engines" in err and not (tmp_path / "run2").exists()


def test_eval_writes_metrics_and_self_contained_report(cli, soap_run, emt_extxyz, tmp_path):
    code, out, err = cli("potential", "eval", soap_run, emt_extxyz, "--out", tmp_path / "ev")
    assert code == 0, err
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    for key in ("n_frames", "energy_mae", "energy_rmse", "force_mae", "force_rmse"):
        assert key in metrics
    assert metrics["n_frames"] == 8 and metrics["force_mae"] < metrics["force_rmse"]
    report = (tmp_path / "ev" / "report.html").read_text()
    assert "data:image/png;base64," in report and "http" not in report


def test_md_writes_trajectory_and_reports_drift(cli, soap_run, tmp_path):
    from ase.build import bulk
    from ase.io import read

    structure = tmp_path / "cu.extxyz"
    bulk("Cu", "fcc", 3.6, cubic=True).repeat(2).write(structure)
    code, out, err = cli("potential", "md", soap_run, structure, "--ensemble", "nvt", "--temperature", "500",
                         "--steps", "6", "--timestep", "2", "--interval", "3", "--out", tmp_path / "traj.extxyz")
    assert code == 0, err
    assert "energy drift" in out
    assert len(read(tmp_path / "traj.extxyz", index=":")) == 3


def test_relax_converges_a_rattled_cell(cli, soap_run, tmp_path):
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", 3.6, cubic=True)
    atoms.rattle(0.05, seed=0)
    atoms.write(tmp_path / "in.extxyz")
    code, out, err = cli("potential", "relax", soap_run, tmp_path / "in.extxyz", "--out", tmp_path / "out.extxyz",
                         "--fmax", "0.02")
    assert code == 0, err
    assert out.startswith("converged")


def test_relax_of_unfamiliar_elements_names_the_file(cli, soap_run, tmp_path):
    from ase.build import bulk

    bulk("NaCl", "rocksalt", 5.6).write(tmp_path / "nacl.extxyz")  # a Cu potential
    code, out, err = cli("potential", "relax", soap_run, tmp_path / "nacl.extxyz", "--out", tmp_path / "out.extxyz")
    assert code == 2 and "nacl.extxyz" in err and "not trained on" in err and not (tmp_path / "out.extxyz").exists()


def test_relax_of_a_folder_writes_one_frame_per_structure_that_screening_reads(cli, soap_run, tmp_path):
    from ase.build import bulk

    from matforge.data import read_table

    (tmp_path / "cells" / "more").mkdir(parents=True)
    for i, where in enumerate(["cells/a.cif", "cells/more/b.cif"]):
        atoms = bulk("Cu", "fcc", 3.6, cubic=True)
        atoms.rattle(0.04, seed=i)
        atoms.write(tmp_path / where)
    code, out, err = cli("potential", "relax", soap_run, tmp_path / "cells", "--out", tmp_path / "relaxed.extxyz", "--fmax", "0.02")
    assert code == 0, err
    assert out.startswith("2 structures relaxed (0 not converged")
    table = read_table(tmp_path / "relaxed.extxyz")  # what screen --candidates and predict read
    assert table["source"].tolist() == ["cells/a.cif", "cells/more/b.cif"] and table["converged"].all()
    assert np.allclose(table["energy_per_atom"] * 4, table["relaxed_energy"])


def test_properties_compare_with_reference_json(cli, soap_run, tmp_path):
    from ase.build import bulk

    bulk("Cu", "fcc", 3.6, cubic=True).write(tmp_path / "cu.extxyz")
    (tmp_path / "ref.json").write_text(json.dumps({"lattice_constant": 3.59, "bulk_modulus_GPa": 134.0}))
    code, out, err = cli("potential", "properties", soap_run, tmp_path / "cu.extxyz", "--no-vacancy",
                         "--reference", tmp_path / "ref.json", "--out", tmp_path / "props.json")
    assert code == 0, err
    result = json.loads((tmp_path / "props.json").read_text())
    assert "lattice_constant_rel_error" in result["errors"]
    # a misspelt key is not silently left out of the comparison
    (tmp_path / "ref2.json").write_text(json.dumps({"lattice": 3.59}))
    code, out, err = cli("potential", "properties", soap_run, tmp_path / "cu.extxyz", "--no-vacancy", "--reference", tmp_path / "ref2.json")
    assert code == 2 and "unknown reference key(s) ['lattice']" in err


def test_bad_frames_exit_2_with_one_line_and_no_run_folder(cli, tmp_path):
    bad = tmp_path / "bad.extxyz"
    bad.write_text("this is not a structure\n")
    code, out, err = cli("potential", "fit", bad, "--out", tmp_path / "run")
    assert code == 2
    assert err.startswith("error:") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_unknown_engine_exits_2(cli, emt_extxyz, tmp_path):
    code, _, err = cli("potential", "fit", emt_extxyz, "--engine", "gap", "--out", tmp_path / "run")
    assert code == 2 and "unknown engine" in err


def test_eval_on_a_folder_that_is_no_run_exits_2(cli, emt_extxyz, tmp_path):
    code, _, err = cli("potential", "eval", tmp_path, emt_extxyz, "--out", tmp_path / "ev")
    assert code == 2 and "card.json" in err
    assert not (tmp_path / "ev").exists()


def test_output_over_input_is_refused(cli, soap_run, tmp_path):
    from ase.build import bulk

    structure = tmp_path / "cu.extxyz"
    bulk("Cu", "fcc", 3.6, cubic=True).write(structure)
    code, _, err = cli("potential", "md", soap_run, structure, "--steps", "2", "--out", structure)
    assert code == 2 and "overwrite" in err
