"""`matforge train` / `predict` on a table of polymer repeat units (PSMILES): the column is recognised, the same
polymer written twice is merged, a trend set by the side chain is learned, a bad cell stops with one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rdkit")

from matforge.cli.app import main  # noqa: E402

# repeat units with an n-alkyl side chain, and each family's Tg without one (K): a longer flexible side chain
# lowers Tg (internal plasticization), by 12 K a carbon here
FAMILIES = {"*CC(*)(C)C(=O)O{}": 400.0, "*CC(*)C(=O)O{}": 300.0, "*CC(*)c1ccc({})cc1": 380.0, "*CC(*)O{}": 260.0}


def polymers() -> pd.DataFrame:
    rows = []
    for pattern, base in FAMILIES.items():
        for n in range(1, 13):
            rows.append({"psmiles": pattern.format("C" * n), "tg": base - 12.0 * n})
    return pd.DataFrame(rows)


def test_a_side_chain_trend_is_learned_and_new_repeat_units_are_predicted(tmp_path, capsys):
    table = polymers()
    # polypropylene twice, written from either backbone atom, with Tgs from two sources
    table = pd.concat([table, pd.DataFrame({"psmiles": ["*CC(*)C", "*C(C)C*"], "tg": [266.0, 270.0]})], ignore_index=True)
    data = tmp_path / "polymers.csv"
    table.to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["train", str(data), "--target", "tg", "--out", str(run), "--budget", "10", "--models", "extra_trees,ridge", "--cv", "3", "--max-trials", "2"]) == 0
    err = capsys.readouterr().err
    assert "from SMILES 'psmiles'" in err and "1 duplicate rows" in err
    card = json.loads((run / "model" / "card.json").read_text())
    assert card["inputs"]["smiles_cols"] == ["psmiles"] and "backbone_atoms" in card["features"] and card["feature_preset"] is None
    assert card["data"]["duplicates_merged"] == 1 and card["data"]["n_groups"] == len(table) - 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_samples"] == len(table) - 1
    assert metrics["cv"]["mae"]["mean"] < 0.3 * table["tg"].std()

    new = tmp_path / "new.csv"
    pd.DataFrame({"psmiles": ["*CC(*)(C)C(=O)OCCCCCCC", "*CC(*)(C)C(=O)OC"]}).to_csv(new, index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(new), "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    assert pred.loc[1, "prediction"] > pred.loc[0, "prediction"] + 30  # 388 K against 316 K
    assert np.isfinite(pred["uncertainty"]).all()


def test_a_bad_repeat_unit_stops_training_with_its_row(tmp_path, capsys):
    table = polymers()
    table.loc[5, "psmiles"] = "*CC(*)C(=O"
    data = tmp_path / "bad.csv"
    table.to_csv(data, index=False)
    assert main(["train", str(data), "--target", "tg", "--out", str(tmp_path / "run"), "--smiles-col", "psmiles", "--budget", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "row 5" in err[0] and "psmiles" in err[0] and "not a valid SMILES" in err[0]
    assert not (tmp_path / "run").exists()


def test_featurize_adds_polymer_features_and_lists_bad_cells(tmp_path, capsys):
    table = pd.DataFrame({"name": ["PS", "bad", "PMMA"], "psmiles": ["*CC(*)c1ccccc1", "*CC(", "*CC(*)(C)C(=O)OC"]})
    data = tmp_path / "polymers.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "features.csv"
    assert main(["featurize", str(data), "--smiles-col", "psmiles", "--out", str(out)]) == 2
    assert "row 1" in capsys.readouterr().err and not out.exists()
    assert main(["featurize", str(data), "--smiles-col", "psmiles", "--out", str(out), "--on-error", "skip"]) == 0
    features = pd.read_csv(out)
    assert list(features["name"]) == ["PS", "PMMA"] and list(features["longest_sidechain"]) == [6, 4]
    rejected = pd.read_csv(tmp_path / "features.rejected.csv")
    assert list(rejected["row"]) == [1] and "not a valid SMILES" in rejected.loc[0, "reason"]
