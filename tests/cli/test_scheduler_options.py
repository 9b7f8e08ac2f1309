"""The everyday commands take --scheduler/--workers and then give the same rows as without them."""

from __future__ import annotations

import pandas as pd
import pytest

from matforge.cli.app import main

pytest.importorskip("distributed")


def test_featurize_and_predict_on_a_local_cluster_match_the_single_process_path(regression_table, tmp_path):
    from matforge.learn import train

    data = tmp_path / "data.csv"
    regression_table.to_csv(data, index=False)
    assert main(["featurize", str(data), "--formula-col", "formula", "--out", str(tmp_path / "plain.parquet")]) == 0
    assert main(["featurize", str(data), "--formula-col", "formula", "--out", str(tmp_path / "parts"), "--scheduler", "local", "--workers", "1"]) == 0
    plain = pd.read_parquet(tmp_path / "plain.parquet")
    parts = pd.read_parquet(tmp_path / "parts").reset_index(drop=True)
    pd.testing.assert_frame_equal(parts[plain.columns], plain, check_dtype=False)

    run = train(regression_table, "hardness", tmp_path / "run", models="ridge", budget=5, cv=3)
    assert main(["predict", str(run), str(data), "--out", str(tmp_path / "p.csv")]) == 0
    assert main(["predict", str(run), str(data), "--out", str(tmp_path / "pparts"), "--scheduler", "local", "--workers", "1"]) == 0
    single = pd.read_csv(tmp_path / "p.csv")
    cluster = pd.read_parquet(tmp_path / "pparts").reset_index(drop=True)
    pd.testing.assert_series_equal(cluster["prediction"], single["prediction"], check_exact=False, rtol=1e-9)
