"""`matforge train` / `predict` on a table of crystal structures: a property only the structure carries is
learned, new structures are read from CIF files beside the table, a bad cell stops with one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pymatgen.core import Structure

from matforge.cli.app import main
from tests.conftest import fcc_cell

SALTS = [("Na", "Cl"), ("K", "Cl"), ("Na", "Br"), ("K", "Br"), ("Li", "F"), ("Rb", "Cl")]


def salt(a: str, b: str, lattice: float) -> Structure:
    return fcc_cell(lattice, a, b)


def test_a_property_of_the_structure_is_learned_and_new_cif_files_are_predicted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for a, b in SALTS:
        for lattice in rng.uniform(4.5, 6.5, 12):
            # the same composition at many lattice constants (a pressure series): only the structure tells them apart
            rows.append({"structure": str(salt(a, b, lattice).as_dict()), "stiffness": 100 * (6.5 - lattice) ** 2})
    table = pd.DataFrame(rows)
    data = tmp_path / "salts.csv"
    table.to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["train", str(data), "--target", "stiffness", "--out", str(run), "--budget", "6", "--models", "extra_trees", "--cv", "3", "--max-trials", "2"]) == 0
    card = json.loads((run / "model" / "card.json").read_text())
    assert card["inputs"]["structure_cols"] == ["structure"] and "min nn_distance" in card["features"]
    metrics = json.loads((run / "metrics.json").read_text())
    # grouped by composition: each outer fold predicts salts it never saw, from their bond lengths
    assert metrics["cv"]["mae"]["mean"] < 0.25 * table["stiffness"].std()
    assert metrics["cv"]["r2"]["mean"] > 0.8

    (tmp_path / "new").mkdir()
    for name, lattice in (("small", 4.8), ("large", 6.2)):
        salt("Na", "Cl", lattice).to(filename=str(tmp_path / "new" / f"{name}.cif"))
    new = tmp_path / "new" / "new.csv"
    pd.DataFrame({"structure": ["small.cif", "large.cif"]}).to_csv(new, index=False)  # paths relative to the table
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(new), "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred["structure"]) == ["small.cif", "large.cif"]
    assert pred.loc[0, "prediction"] > pred.loc[1, "prediction"] + 50  # 100 · 1.7² ≈ 289 against 100 · 0.3² = 9

    # the folder itself (its CSV is not a structure file), and the same crystals as extended XYZ frames
    assert main(["predict", str(run), str(tmp_path / "new"), "--out", str(tmp_path / "folder.csv")]) == 0
    folder = pd.read_csv(tmp_path / "folder.csv")
    assert list(folder["structure"]) == ["new/large.cif", "new/small.cif"]
    assert np.allclose(folder["prediction"], pred["prediction"][::-1])
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor

    write(tmp_path / "frames.extxyz", [AseAtomsAdaptor.get_atoms(salt("Na", "Cl", lattice)) for lattice in (4.8, 6.2)])
    assert main(["predict", str(run), str(tmp_path / "frames.extxyz"), "--out", str(tmp_path / "frames.csv")]) == 0
    assert np.allclose(pd.read_csv(tmp_path / "frames.csv")["prediction"], pred["prediction"])

    pd.DataFrame({"structure": ["small.cif", "missing.cif"]}).to_csv(new, index=False)
    capsys.readouterr()
    assert main(["predict", str(run), str(new), "--out", str(tmp_path / "bad.csv")]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "new.csv" in message and "row 1" in message and "missing.cif" in message
    assert not (tmp_path / "bad.csv").exists()
