"""`matforge micro ...`: exit 0 with outputs, exit 2 with one line on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matforge.cli import app as cli_app
from tests.micro.conftest import save_png


@pytest.fixture
def run_cli(capsys):
    """Call `matforge.cli.app.main` as the `matforge` command does; returns (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_app.main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_grains_command_writes_its_files(run_cli, tmp_path):
    code, out, _ = run_cli("micro", "synthetic", "--out", tmp_path / "syn", "--size", 192, "--grains", 25,
                           "--porosity", 0.03, "--pixel-size", "0.5um")
    assert code == 0 and "25 grains" in out
    truth = json.loads((tmp_path / "syn" / "truth.json").read_text())
    code, out, _ = run_cli("micro", "grains", tmp_path / "syn" / "image.png", "--pixel-size", "0.5um",
                           "--out", tmp_path / "g")
    assert code == 0 and "ASTM G" in out
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert abs(summary["n_grains"] - truth["n_grains"]) <= 2
    assert abs(summary["porosity"] - truth["porosity"]) <= 0.01
    assert {p.name for p in (tmp_path / "g").iterdir() if not p.name.startswith(".")} == {"grains.csv", "summary.json", "overlay.png"}


def test_missing_image_exits_2_with_one_line(run_cli, tmp_path):
    code, _, err = run_cli("micro", "grains", tmp_path / "nope.png", "--out", tmp_path / "g")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "nope.png" in err
    assert not (tmp_path / "g").exists()


def test_single_class_folder_exits_2(run_cli, tmp_path):
    for k in range(3):
        save_png(tmp_path / "data" / "ferrite" / f"{k}.png", np.full((16, 16), 0.3))
    code, _, err = run_cli("micro", "train-classifier", tmp_path / "data", "--out", tmp_path / "run")
    assert code == 2 and "only one class" in err and err.count("\n") == 1


def test_bad_pixel_size_and_mask_mismatch_exit_2(run_cli, tmp_path):
    save_png(tmp_path / "m.png", np.random.default_rng(0).random((32, 32)))
    code, _, err = run_cli("micro", "grains", tmp_path / "m.png", "--pixel-size", "3 furlongs", "--out", tmp_path / "g")
    assert code == 2 and "furlongs" in err
    save_png(tmp_path / "pairs" / "images" / "a.png", np.zeros((32, 32)))
    save_png(tmp_path / "pairs" / "masks" / "a.png", np.zeros((31, 32), dtype=np.uint8))
    code, _, err = run_cli("micro", "train-segmenter", tmp_path / "pairs", "--out", tmp_path / "run")
    assert code == 2 and "mask is 32 x 31 px" in err


def test_classify_refuses_a_segmenter_run_and_missing_run(run_cli, tmp_path):
    save_png(tmp_path / "x.png", np.zeros((16, 16)))
    code, _, err = run_cli("micro", "classify", tmp_path / "norun", tmp_path / "x.png", "--out", tmp_path / "p.csv")
    assert code == 2 and "not a matforge micro run folder" in err


def test_help_lists_the_micro_commands(run_cli):
    code, out, _ = run_cli("micro", "--help")
    assert code == 0
    for command in ("train-classifier", "classify", "train-segmenter", "segment", "grains", "synthetic"):
        assert command in out


def test_train_classifier_ensemble_is_saved_and_used_by_classify(run_cli, grain_size_folders, tmp_path):
    code, out, _ = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "run",
                           "--image-size", 32, "--width", 8, "--epochs", 3, "--ensemble", 2, "--test-fraction", 0.25)
    assert code == 0 and "test accuracy" in out
    card = json.loads((tmp_path / "run" / "model" / "card.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert card["ensemble"] == 2 and metrics["ensemble"] == 2 and len(metrics["epochs_per_member"]) == 2
    code, out, _ = run_cli("micro", "classify", tmp_path / "run", grain_size_folders / "fine", "--out",
                           tmp_path / "p.csv")
    assert code == 0 and "classified 20 image(s)" in out
    from matforge.micro import MicrographClassifier

    reloaded = MicrographClassifier.from_run(tmp_path / "run")
    assert reloaded.ensemble == 2 and len(reloaded.net_.members) == 2
    # An ensemble run also serves as --pretrained: each new member starts from one of its members.
    code, _, _ = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "tuned",
                         "--image-size", 32, "--width", 8, "--epochs", 1, "--pretrained", tmp_path / "run")
    assert code == 0
    code, _, err = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "run0",
                           "--ensemble", 0)
    assert code == 2 and "ensemble" in err and err.count("\n") == 1


def test_train_classifier_mix_options_reach_the_card_and_bad_mix_exits_2(run_cli, grain_size_folders, tmp_path):
    code, out, _ = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "run",
                           "--image-size", 32, "--width", 8, "--epochs", 2, "--mix", "cutmix", "--mix-alpha", 0.5,
                           "--label-smoothing", 0.05, "--test-fraction", 0.25)
    assert code == 0 and "test accuracy" in out
    card = json.loads((tmp_path / "run" / "model" / "card.json").read_text())
    assert (card["mix"], card["mix_alpha"], card["label_smoothing"]) == ("cutmix", 0.5, 0.05)
    code, _, err = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "bad",
                           "--mix", "blend")
    assert code == 2 and "unknown mix" in err and err.count("\n") == 1


def test_cli_swa_options_reach_the_card_and_bad_values_exit_2(run_cli, grain_size_folders, tmp_path):
    code, out, _ = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "run",
                           "--image-size", 32, "--width", 8, "--epochs", 3, "--swa-epochs", 2, "--swa-lr", 0.5,
                           "--test-fraction", 0.25)
    assert code == 0 and "test accuracy" in out
    card = json.loads((tmp_path / "run" / "model" / "card.json").read_text())
    assert (card["swa_epochs"], card["swa_lr"]) == (2, 0.5)
    code, _, err = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "bad",
                           "--epochs", 3, "--swa-epochs", 3)
    assert code == 2 and "swa_epochs" in err and err.count("\n") == 1


def test_cli_flatten_and_jitter_flags_reach_the_card(run_cli, grain_size_folders, tmp_path):
    code, out, _ = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "run",
                           "--image-size", 32, "--width", 8, "--epochs", 2, "--flatten", "plane",
                           "--crop-scale-min", 0.6, "--test-fraction", 0.25)
    assert code == 0 and "test accuracy" in out
    card = json.loads((tmp_path / "run" / "model" / "card.json").read_text())
    assert (card["flatten"], card["crop_scale_min"]) == ("plane", 0.6)
    code, _, err = run_cli("micro", "train-classifier", grain_size_folders, "--out", tmp_path / "bad",
                           "--flatten", "blur")
    assert code == 2 and "flatten" in err and err.count("\n") == 1
