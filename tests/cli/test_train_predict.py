"""`matforge train` writes the contract run folder; `matforge predict` returns every row, in order."""

from __future__ import annotations

import json

import pandas as pd

from matforge.cli.app import main


def test_train_writes_contract_files_and_predict_keeps_row_order(regression_table, tmp_path, capsys):
    data = tmp_path / "hardness.csv"
    regression_table.to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["train", str(data), "--target", "hardness", "--out", str(run), "--budget", "8", "--models", "ridge,knn", "--cv", "3"]) == 0
    said = capsys.readouterr().err  # the roles it found, before the fit
    assert "160 rows, regression of 'hardness' from composition 'formula'; numeric 'anneal_T_K'" in said
    for name in ("metrics.json", "leaderboard.csv", "oof_predictions.csv", "report.html", "model/card.json", "model/model.skops"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["target"] == "hardness" and metrics["n_samples"] == 160
    assert metrics["protocol"]["folds"] == 3 and metrics["protocol"]["seed"] == 0
    assert set(metrics["cv"]) == {"mae", "rmse", "r2"} and all(set(v) == {"mean", "std"} for v in metrics["cv"].values())
    board = pd.read_csv(run / "leaderboard.csv")
    assert {"model", "mae_mean", "mae_std", "fit_seconds"} <= set(board.columns) and len(board) == 2
    oof = pd.read_csv(run / "oof_predictions.csv")
    assert sorted(oof["row"]) == list(range(160)) and {"y_true", "y_pred", "y_std"} <= set(oof.columns)
    card = json.loads((run / "model" / "card.json").read_text())
    assert card["inputs"]["formula_cols"] == ["formula"] and card["inputs"]["numeric_cols"] == ["anneal_T_K"]
    assert len(card["data"]["sha256"]) == 64 and card["citations"]
    html = (run / "report.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html

    new = regression_table.drop(columns="hardness").iloc[::-1].head(25)
    new_file = tmp_path / "new.csv"
    new.to_csv(new_file, index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(new_file), "--out", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred["formula"]) == list(new["formula"])
    assert pred["prediction"].notna().all() and (pred["uncertainty"] > 0).all()
    assert (pred["lower_90"] < pred["prediction"]).all() and (pred["prediction"] < pred["upper_90"]).all()
    assert pred["in_domain"].dtype == bool


def test_predict_flags_out_of_domain_and_skips_bad_rows(regression_table, tmp_path, capsys):
    from matforge.learn import train

    run = train(regression_table, "hardness", tmp_path / "run", models="ridge", budget=5, cv=3)
    odd = pd.DataFrame({"formula": ["Fe2O3", "Xe", "Og", "Qq2"], "anneal_T_K": [500, 5000, 500, 500]})
    odd_file = tmp_path / "odd.csv"
    odd.to_csv(odd_file, index=False)
    assert main(["predict", str(run), str(odd_file), "--out", str(tmp_path / "p.csv")]) == 2
    assert main(["predict", str(run), str(odd_file), "--out", str(tmp_path / "p.csv"), "--on-error", "skip"]) == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    assert len(pred) == 4 and pd.isna(pred.loc[3, "prediction"]) and not pred.loc[3, "in_domain"]
    assert not pred.loc[1, "in_domain"]
    # a table without a column the model was trained with: one line naming the file, the column and what is there
    renamed = tmp_path / "renamed.csv"
    odd.rename(columns={"formula": "composition"}).to_csv(renamed, index=False)
    capsys.readouterr()
    assert main(["predict", str(run), str(renamed), "--out", str(tmp_path / "q.csv")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(renamed) in error and "column 'formula'" in error and "composition" in error
    assert not (tmp_path / "q.csv").exists()


def test_datasets_list_show_and_export_the_embedded_transport_database(tmp_path, capsys):
    assert main(["datasets", "list"]) == 0
    assert "transport" in capsys.readouterr().out
    assert main(["datasets", "show", "transport"]) == 0
    assert "µV/K" in capsys.readouterr().out
    out = tmp_path / "transport.parquet"
    assert main(["datasets", "export", "transport", "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert frame.shape == (47737, 12) and frame["formula"].notna().all()


def test_help_is_instant_and_lists_commands():
    import subprocess
    import sys
    import time

    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "matforge.cli", "--help"], capture_output=True, text=True, check=True)
    assert time.monotonic() - start < 5
    for command in ("train", "predict", "demo", "featurize", "datasets"):
        assert command in done.stdout


def test_predict_checks_process_values_and_replaces_earlier_outputs(regression_table, tmp_path, capsys):
    from matforge.learn import train

    table = regression_table.assign(atmosphere=["air", "argon"] * 80)
    run = train(table, "hardness", tmp_path / "run", models="ridge", budget=5, cv=3)
    new = table.drop(columns="hardness").head(5).astype({"anneal_T_K": object})
    new.loc[1, "anneal_T_K"], new.loc[2, "anneal_T_K"], new.loc[3, "atmosphere"] = "hot", None, "vacuum"
    new_file, out = tmp_path / "new.csv", tmp_path / "p.csv"
    new.to_csv(new_file, index=False)
    capsys.readouterr()
    # a number that is not one: exit 2 naming the row and column, nothing written
    assert main(["predict", str(run), str(new_file), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "row 1, column 'anneal_T_K'" in error and "'hot'" in error and not out.exists()
    # skipped: predicted from the training median, and flagged, as are a missing number and an unseen category
    assert main(["predict", str(run), str(new_file), "--out", str(out), "--on-error", "skip"]) == 0
    assert pd.read_csv(out)["in_domain"].tolist() == [True, False, False, False, True]
    # an earlier output fed back in: its prediction columns are replaced, not written twice
    again = tmp_path / "again.csv"
    assert main(["predict", str(run), str(out), "--out", str(again), "--on-error", "skip"]) == 0
    columns = pd.read_csv(again).columns.tolist()
    assert columns.count("prediction") == 1 and columns.count("in_domain") == 1
    assert "5 of 5 rows predicted" in capsys.readouterr().err


def test_models_lists_every_algorithm_with_its_citation(capsys):
    assert main(["models", "--task", "classification"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "logistic" and "Pedregosa" in lines[1]
    assert main(["models", "--task", "clustering"]) == 2


def test_report_refuses_a_run_folder_it_cannot_render(tmp_path, capsys):
    micro = tmp_path / "clf"  # a micro or potential run: metrics.json and its own report, no leaderboard or model card
    micro.mkdir()
    (micro / "metrics.json").write_text("{}")
    assert main(["report", str(micro)]) == 2
    assert "not a 'matforge train' run folder" in capsys.readouterr().err
