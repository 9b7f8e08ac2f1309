"""report.html: every section, self-contained, robust to explanations that fail."""

from __future__ import annotations

import re
import shutil

from matforge.cli.app import main
from matforge.report import render_report

SECTIONS = ("data", "model-selection", "accuracy", "explanations", "uncertainty", "provenance")


def _external_references(page: str) -> list[str]:
    """src/href attributes that would make the browser fetch something (anything but inline data or anchors)."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_report_has_every_section_inline(runs):
    for task, path in runs.items():
        page = (path / "report.html").read_text()
        for section in SECTIONS:
            assert f'<section id="{section}">' in page, (task, section)
        assert _external_references(page) == []
        assert "<script" not in page
        images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
        expected = {"Parity", "Residuals", "Interval calibration"} if task == "regression" else {"Confusion matrix", "ROC", "Precision-recall", "Probability calibration"}
        assert expected | {"Leaderboard", "Element frequency", "Learning curve", "Permutation importance", "Sensitivity matrix", "Partial dependence", "Target distribution"} <= set(images), task


def test_failing_explanation_becomes_a_note(runs, tmp_path, monkeypatch):
    import matforge.explain as explain

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(explain, "permutation_importance", broken)
    page = render_report(runs["binary"], tmp_path / "report.html").read_text()
    assert "Permutation importance: not available (RuntimeError: simulated failure)" in page
    assert "Sensitivity matrix" in page and all(f'<section id="{s}">' in page for s in SECTIONS)


def test_run_without_training_table_still_renders(runs, tmp_path):
    run = tmp_path / "old-run"
    shutil.copytree(runs["regression"], run)
    (run / "model" / "train_data.parquet").unlink()
    page = render_report(run).read_text()
    assert "explanations need the saved model and model/train_data.parquet" in page
    assert 'alt="Parity"' in page and 'alt="Leaderboard"' in page


def test_cli_report_rerenders(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["regression"], run)
    (run / "report.html").unlink()
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").stat().st_size > 50_000
    assert main(["report", str(tmp_path / "nowhere")]) == 2


def test_provenance_names_each_member_with_its_weight_and_configurations(runs):
    import json

    from matforge.report._sections import members_text

    card = {"final_members": ["extra_trees", "lightgbm"], "final_configurations": [
        {"model": "extra_trees", "params": {"min_samples_leaf": 2}, "inner_score": 70.0, "weight": 2},
        {"model": "lightgbm", "params": {}, "inner_score": 71.0, "weight": 1},
        {"model": "extra_trees", "params": {"min_samples_leaf": 1}, "inner_score": 72.0, "weight": 1},
    ]}  # fmt: skip
    assert members_text(card) == "extra_trees ×3 (2 configurations), lightgbm ×1"
    assert members_text({"final_members": ["knn"]}) == "knn"  # a card written before configurations were recorded
    for path in runs.values():
        card = json.loads((path / "model" / "card.json").read_text())
        assert sum(c["weight"] for c in card["final_configurations"]) >= len(card["final_members"])
        assert members_text(card) in (path / "report.html").read_text()
