"""The U-Net learns pores and particles from 24 small synthetic images; tiling and the segment command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matforge.errors import InputError
from matforge.micro import MicrographSegmenter, read_mask, segment, synthetic_microstructure, train_segmenter
from tests.micro.conftest import save_png

SMALL = {"width": 8, "epochs": 20, "steps_per_epoch": 10, "patience": 20}


@pytest.fixture(scope="module")
def trained_run(phase_pairs, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "phases"
    seg = train_segmenter(phase_pairs, out, test_fraction=0.2, seed=0, **SMALL)
    return seg, out


def test_unet_from_24_images_reaches_iou_09_on_held_out_images(trained_run):
    seg, _ = trained_run
    test = seg.metrics_["test"]
    assert seg.metrics_["protocol"]["n_train"] == 24 and seg.metrics_["protocol"]["n_test"] == 6
    assert test["mean_iou"] >= 0.9
    assert test["iou"]["128"] >= 0.9  # pores
    assert set(test["dice"]) == {"0", "128", "255"}


def test_run_folder_and_report(trained_run):
    _, out = trained_run
    card = json.loads((out / "model" / "card.json").read_text())
    assert card["kind"] == "segmenter" and card["mask_values"] == [0, 128, 255]
    report = (out / "report.html").read_text()
    assert "IoU" in report and "data:image/png;base64," in report and "https://" not in report


def test_tiled_prediction_of_a_large_image_matches_its_truth(trained_run):
    seg, _ = trained_run
    sample = synthetic_microstructure((200, 232), 40, porosity=0.12, pore_radius=(4, 8), particle_fraction=0.08,
                                      particle_radius=(3, 6), noise=0.03, seed=99)
    seg.tile_size = 64  # force several overlapping tiles
    pred = seg.predict(sample.image)
    seg.tile_size = 256
    assert pred.shape == sample.image.shape
    pores = sample.phase_mask == 1
    iou = (pores & (pred == 1)).sum() / (pores | (pred == 1)).sum()
    assert iou >= 0.85


def test_segment_writes_masks_in_the_training_values(trained_run, phase_pairs, tmp_path):
    _, out = trained_run
    table = segment(out, phase_pairs / "images" / "m00.png", tmp_path / "seg")
    mask = read_mask(tmp_path / "seg" / "m00_mask.png")
    assert set(np.unique(mask)) <= {0, 128, 255}
    assert (tmp_path / "seg" / "m00_overlay.png").is_file()
    assert table[["fraction_0", "fraction_128", "fraction_255"]].sum(1).iloc[0] == pytest.approx(1.0)
    assert (tmp_path / "seg" / "fractions.csv").is_file()


def test_mismatched_image_and_mask_are_rejected():
    with pytest.raises(InputError, match="mask"):
        MicrographSegmenter(**SMALL).fit([np.zeros((32, 32), np.float32)], [np.zeros((30, 32), np.int64)])


def test_wrong_run_kind_is_an_input_error(trained_run, phase_pairs, tmp_path):
    from matforge.micro import classify

    _, out = trained_run
    with pytest.raises(InputError, match="segmenter model, not a classifier"):
        classify(out, phase_pairs / "images")
    save_png(tmp_path / "x.png", np.zeros((16, 16)))
    with pytest.raises(InputError, match="not a matforge micro run folder"):
        segment(tmp_path, tmp_path / "x.png")

