"""Grain statistics on synthetic microstructures of known truth, and the ASTM E112 relations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from matforge.errors import InputError
from matforge.micro import (
    analyze_grains,
    astm_g_intercept,
    astm_g_planimetric,
    grains,
    parse_length,
    synthetic_microstructure,
)
from tests.micro.conftest import save_png


def test_astm_e112_relations_match_the_standard_tables():
    # ASTM E112-13, Table 4: G = 8 is 1984 grains/mm^2 at 1x (128 per in^2 at 100x) and l = 0.0200 mm.
    assert astm_g_planimetric(128 * 100**2 / 25.4**2) == pytest.approx(8.0, abs=0.005)
    assert astm_g_intercept(0.32 / 2**4) == pytest.approx(8.0, abs=0.005)
    assert math.isnan(astm_g_planimetric(0))


@pytest.mark.parametrize(("text", "expected"), [("0.5um", (0.5, "um")), ("20 nm", (20.0, "nm")), ("0.5µm", (0.5, "um")),
                                                (2, (2.0, "um")), (None, (1.0, "px"))])
def test_parses_pixel_sizes(text, expected):
    assert parse_length(text) == expected


@pytest.mark.parametrize("text", ["abc", "-1um", "3 furlongs"])
def test_rejects_bad_pixel_sizes(text):
    with pytest.raises(InputError):
        parse_length(text)


@pytest.mark.parametrize("seed", [0, 2])
def test_grain_count_astm_g_and_porosity_match_truth(seed):
    sample = synthetic_microstructure((512, 512), 150, porosity=0.03, pore_radius=(3, 6), particle_fraction=0.02,
                                      noise=0.04, pixel_size=0.5, seed=seed)
    truth = sample.truth()
    found = analyze_grains(sample.image, pixel_size="0.5um").summary
    assert truth["n_grains"] == 150
    assert abs(found["n_grains"] - truth["n_grains"]) <= 0.05 * truth["n_grains"]
    assert abs(found["astm_g"] - truth["astm_g"]) <= 0.25
    assert abs(found["astm_g_intercept"] - truth["astm_g_intercept"]) <= 0.25
    assert abs(found["porosity"] - truth["porosity"]) <= 0.01
    assert found["mean_diameter"] == pytest.approx(truth["mean_diameter"], rel=0.1)


def test_second_phase_fraction_from_a_grey_level_threshold():
    sample = synthetic_microstructure((256, 256), 40, particle_fraction=0.06, noise=0.03, seed=5)
    # 0.75 lies between the brightest grains (0.62 + 0.08) and the blurred particles (about 0.82).
    found = analyze_grains(sample.image, phase_thresholds=[0.75]).summary
    assert found["phase_fractions"]["phase_2"] == pytest.approx(sample.particle_mask.mean(), abs=0.01)
    assert sum(found["phase_fractions"].values()) == pytest.approx(1.0)


def test_grains_writes_table_summary_and_overlay(tmp_path):
    sample = synthetic_microstructure((200, 200), 30, porosity=0.02, seed=3)
    save_png(tmp_path / "micrograph.png", sample.image)
    result = grains(tmp_path / "micrograph.png", tmp_path / "out", pixel_size="2um")
    table = (tmp_path / "out" / "grains.csv").read_text().splitlines()
    assert table[0].startswith("grain,area,equivalent_diameter,major_axis,minor_axis,aspect_ratio")
    assert len(table) - 1 == result.summary["n_grains"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    for key in ("n_grains", "mean_diameter", "mean_intercept", "astm_g", "porosity", "units"):
        assert key in summary
    assert summary["units"]["length"] == "um"
    assert (tmp_path / "out" / "overlay.png").stat().st_size > 1000
    assert (result.table["aspect_ratio"] >= 1).all()


def test_without_pixel_size_lengths_are_pixels_and_no_astm_number():
    sample = synthetic_microstructure((128, 128), 12, seed=4)
    summary = analyze_grains(sample.image).summary
    assert summary["units"]["length"] == "px" and summary["astm_g"] is None


def test_uniform_image_is_an_input_error():
    with pytest.raises(InputError, match="uniform"):
        analyze_grains(np.full((64, 64), 0.5, dtype=np.float32))


def test_synthetic_generator_is_reproducible_and_has_its_truth():
    a = synthetic_microstructure((96, 96), 10, porosity=0.05, seed=9)
    b = synthetic_microstructure((96, 96), 10, porosity=0.05, seed=9)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.pore_mask.mean() == pytest.approx(0.05, abs=0.02)
    assert len(np.unique(a.grain_labels[a.grain_labels > 0])) == 10
