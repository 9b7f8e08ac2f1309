"""`matforge scale ...` commands: exit codes, files written, one-line errors."""

from __future__ import annotations

import json

import pandas as pd

from matforge.cli.app import main


def test_scale_featurize_and_screen_commands_write_their_outputs(tmp_path, alloys, alloy_run, alloy_space, capsys):
    alloys(300).to_parquet(tmp_path / "in.parquet")
    assert main(["scale", "featurize", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "feat"), "--rows-per-partition", "100"]) == 0
    assert len(list((tmp_path / "feat").glob("part-*.parquet"))) == 3
    assert pd.read_parquet(tmp_path / "feat").shape == (300, 2 + 145)

    (tmp_path / "space.json").write_text(json.dumps(alloy_space))
    args = ["scale", "screen", str(alloy_run), "--space", str(tmp_path / "space.json"), "--top", "5", "--out", str(tmp_path / "best.csv"),
            "--chunk-size", "50", "--rows-per-partition", "100"]  # fmt: skip
    assert main(args) == 0
    best = pd.read_csv(tmp_path / "best.csv")
    assert len(best) == 5 and best["score"].is_monotonic_decreasing
    summary = json.loads((tmp_path / "best.summary.json").read_text())
    assert summary["partitions"] >= 3 and summary["scheduler"] == "in-process"


def test_scale_commands_report_bad_input_in_one_line(tmp_path, alloys, capsys):
    alloys(20).to_csv(tmp_path / "in.csv", index=False)
    assert main(["scale", "featurize", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o"), "--formula-col", "nope"]) == 2
    assert "no column named 'nope'" in capsys.readouterr().err
    assert main(["scale", "featurize", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o"), "--workers", "2"]) == 2
    assert "--workers needs --scheduler local" in capsys.readouterr().err
    assert main(["scale", "tune", str(tmp_path / "in.csv"), "--target", "strength", "--join-study", "s", "--storage", "nowhere"]) == 2
    assert "database URL" in capsys.readouterr().err


def test_bad_input_on_a_local_cluster_is_one_line(tmp_path, capfd):
    (tmp_path / "bad.csv").write_text("formula,y\nFe2O3,1\nXyz9,2\n")
    assert main(["scale", "featurize", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "feat"), "--scheduler", "local", "--workers", "1"]) == 2
    err = capfd.readouterr().err.strip()
    assert err.startswith("error: ") and "row 1" in err and "Compute Failed" not in err and "Traceback" not in err
