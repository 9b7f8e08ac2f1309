"""`matforge screen / design / suggest / append` on a real (tiny) run folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from matforge.cli.app import main

SPACE = """
variables:
  - type: composition
    elements: {Fe: [0, 1], Ni: [0, 1], Cr: [0, 1]}
    step: 0.1
  - name: T
    type: continuous
    low: 300
    high: 500
    step: 100
constraints:
  - "Cr <= 0.5"
"""


def test_screen_ranks_by_the_learned_trend(tiny_run, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out, summary = tmp_path / "top.csv", tmp_path / "summary.json"
    assert main(["screen", str(tiny_run), "--space", str(space), "--top", "10", "--out", str(out), "--summary", str(summary)]) == 0
    top = pd.read_csv(out)
    assert len(top) == 10 and {"prediction", "uncertainty", "in_domain", "score", "candidate"} <= set(top.columns)
    assert top["formula"].iloc[0].startswith("Fe") and top["T"].iloc[0] == 500
    counts = json.loads(summary.read_text())
    assert counts["candidates"] < counts["grid_points"]  # the Cr constraint removed some
    assert main(["screen", str(tiny_run), "--space", str(space), "--top", "5", "--objective", "min", "--in-domain-only", "--out", str(out)]) == 0
    assert pd.read_csv(out)["in_domain"].all()


def test_screen_says_when_the_best_candidates_tie(tiny_run, tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out, summary = tmp_path / "top.csv", tmp_path / "summary.json"
    capsys.readouterr()
    assert main(["screen", str(tiny_run), "--space", str(space), "--top", "10", "--objective", "range:-1000:1000", "--out", str(out), "--summary", str(summary)]) == 0
    assert "10 share the best score 0" in capsys.readouterr().err
    assert json.loads(summary.read_text())["tied_at_best"] == 10
    top = pd.read_csv(out)
    keys = list(zip(~top["in_domain"], top["uncertainty"], top["candidate"], strict=True))
    assert keys == sorted(keys)
    # the ridge member is clipped at the highest target it was trained on, which iron-rich candidates at 500 K
    # pass: the model does not rank them, and the message says so
    highest = pd.read_csv(tiny_run.parent / "train.csv")["y"].max()
    assert main(["screen", str(tiny_run), "--space", str(space), "--top", "10", "--out", str(out), "--summary", str(summary)]) == 0
    tied = json.loads(summary.read_text())["tied_at_best"]
    assert tied > 1 and f"{tied} share the best score" in capsys.readouterr().err
    assert pd.read_csv(out)["prediction"].head(tied).to_numpy() == pytest.approx(highest)


def test_design_writes_designs_and_page(tiny_run, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.replace("    step: 0.1\n", "").replace("    step: 100\n", ""))
    out = tmp_path / "designs.csv"
    assert main(["design", str(tiny_run), "--space", str(space), "--goal", "target:5", "--optimizer", "pso", "--n", "400", "--out", str(out)]) == 0
    designs = pd.read_csv(out)
    assert abs(designs["prediction"].iloc[0] - 5) < 0.3
    page = out.with_suffix(".html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page
    two = tmp_path / "front.csv"
    assert main(["design", str(tiny_run), str(tiny_run), "--space", str(space), "--goal", "max,min", "--optimizer", "nsga2", "--n", "200", "--out", str(two)]) == 0
    assert {"run:prediction", "run:score"} <= set(pd.read_csv(two).columns)


def test_suggest_then_append_closes_the_loop(tiny_run, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out = tmp_path / "next.csv"
    train_csv = tiny_run.parent / "train.csv"
    assert main(["suggest", str(tiny_run), "--space", str(space), "--batch", "3", "--strategy", "ei", "--exclude", str(train_csv), "--out", str(out)]) == 0
    picks = pd.read_csv(out)
    assert len(picks) == 3 and "acquisition" in picks
    picks["y"] = 1.0  # the measured values
    picks.to_csv(out, index=False)
    merged = tmp_path / "train2.csv"
    assert main(["append", str(train_csv), str(out), "--out", str(merged)]) == 0
    assert len(pd.read_csv(merged)) == len(pd.read_csv(train_csv)) + 3


def test_bad_inputs_exit_2(tiny_run, tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("variables:\n  - type: composition\n    elements: {Fe: [0, 1], Ni: [0.2, 0.1]}\n")
    assert main(["screen", str(tiny_run), "--space", str(space), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert str(space) in err and "variables[0].elements.Ni" in err and len(err.strip().splitlines()) == 1
    assert main(["screen", str(tiny_run), "--out", str(tmp_path / "o.csv")]) == 2
    good = tmp_path / "good.yaml"
    good.write_text(SPACE)
    assert main(["screen", str(tiny_run), "--space", str(good), "--objective", "biggest", "--out", str(tmp_path / "o.csv")]) == 2
    assert main(["suggest", str(tiny_run), "--space", str(good), "--strategy", "thompson", "--out", str(tmp_path / "o.csv")]) == 2
    assert main(["screen", str(tiny_run), "--space", str(good), "--out", str(good)]) == 2
    nothing = tmp_path / "nothing.yaml"
    nothing.write_text(SPACE.replace("  - name: T\n    type: continuous\n    low: 300\n    high: 500\n    step: 100\n", ""))
    assert main(["screen", str(tiny_run), "--space", str(nothing), "--out", str(tmp_path / "o.csv")]) == 2
    assert "'T'" in capsys.readouterr().err


def test_screen_on_a_local_cluster_gives_the_same_top_table(tiny_run, tmp_path):
    import pytest

    pytest.importorskip("distributed")
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    assert main(["screen", str(tiny_run), "--space", str(space), "--top", "10", "--out", str(tmp_path / "one.csv")]) == 0
    assert main(["screen", str(tiny_run), "--space", str(space), "--top", "10", "--out", str(tmp_path / "two.csv"), "--scheduler", "local", "--workers", "1"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "two.csv"), pd.read_csv(tmp_path / "one.csv"))
