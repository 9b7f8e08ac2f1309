"""Background flattening and scale jitter of the micrograph classifier: each does what its docstring states."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from matforge.errors import InputError
from matforge.micro import MicrographClassifier
from matforge.micro._augment import flatten_background, random_resized_crop

SIDE = 64


def _texture(seed: int = 0, n: int = 3) -> torch.Tensor:
    """Fine zero-mean texture (pixel noise, 2 px features) around grey 0.5, shape (n, 1, SIDE, SIDE)."""
    g = torch.Generator().manual_seed(seed)
    fine = torch.rand(n, 1, SIDE // 2, SIDE // 2, generator=g).repeat_interleave(2, -1).repeat_interleave(2, -2)
    return 0.5 + 0.1 * (fine - 0.5)


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    ramp = torch.linspace(0, 1, SIDE)
    return ramp[:, None].expand(SIDE, SIDE), ramp[None, :].expand(SIDE, SIDE)


@pytest.mark.parametrize("mode", ["plane", "gaussian"])
def test_flattening_removes_a_linear_illumination_gradient_and_keeps_the_texture(mode):
    rows, cols = _grid()
    texture = _texture()
    gradient = 0.3 * cols - 0.2 * rows  # a lamp to one side: 0.5 grey levels across the image
    lit = texture + gradient - gradient.mean()  # same mean as the texture alone
    flat, reference = flatten_background(lit, mode), flatten_background(texture, mode)
    # The gradient is gone to float precision: the lit and the evenly lit image flatten to the same image.
    assert (flat - reference).abs().max() < 1e-5
    # Each image keeps its mean grey level, and the fine texture survives (it is far below the blur scale).
    assert torch.allclose(flat.mean(dim=(2, 3)), lit.mean(dim=(2, 3)), atol=2e-3)
    kept = np.corrcoef(flat.flatten().numpy(), texture.flatten().numpy())[0, 1]
    assert kept > 0.98
    # Without flattening the same gradient dominates the image.
    assert np.corrcoef(lit.flatten().numpy(), texture.flatten().numpy())[0, 1] < 0.5


def test_gaussian_flattening_also_removes_a_curved_background_that_a_plane_cannot():
    rows, cols = _grid()
    texture = _texture(1)
    # Vignetting-like: bright band along one edge, falling off like a Gaussian of 0.15 x the side.
    band = 0.4 * torch.exp(-0.5 * (cols / 0.15) ** 2)
    lit = texture + band
    left = {mode: float((flatten_background(lit, mode, 0.1) - flatten_background(texture, mode, 0.1)).std())
            for mode in ("plane", "gaussian")}
    assert left["gaussian"] < 0.2 * float(band.std())  # most of the band is gone
    assert left["plane"] > 2 * left["gaussian"]  # a plane removes only its linear part
    assert flatten_background(lit, "none") is lit


def test_scale_jitter_crops_cover_the_stated_share_of_the_area():
    _, cols = _grid()
    # Pixel value = horizontal position, so the span of values in a crop row is the crop's side share.
    images = cols.expand(400, 1, SIDE, SIDE).contiguous()
    out = random_resized_crop(images, 32, 0.6, generator=torch.Generator().manual_seed(0))
    assert out.shape == (400, 1, 32, 32)
    side_share = (out[:, 0, 16, -1] - out[:, 0, 16, 0]) * (SIDE - 1) / SIDE / (1 - 1 / 32)
    area = side_share.numpy() ** 2
    assert area.min() > 0.6 - 0.04 and area.max() < 1 + 0.04  # within [0.6, 1] up to pixel rounding
    assert area.min() < 0.65 and area.max() > 0.95  # and the whole range is used
    assert abs(area.mean() - 0.8) < 0.03  # shares uniform in [0.6, 1]
    # Crops lie inside the image: values stay within the ramp's range.
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6


def test_classifier_flattens_at_prediction_time_too_and_reloads_its_options(grain_size_folders, tmp_path):
    from matforge.micro import load_class_folders, read_image, train_classifier

    clf = train_classifier(grain_size_folders, tmp_path / "run", test_fraction=0.25, image_size=32, width=8, epochs=3,
                           flatten="gaussian", flatten_sigma=0.2, crop_scale_min=0.7)
    card = json.loads((tmp_path / "run" / "model" / "card.json").read_text())
    assert (card["flatten"], card["flatten_sigma"], card["crop_scale_min"]) == ("gaussian", 0.2, 0.7)
    images = [read_image(p) for p in load_class_folders(grain_size_folders).paths[:6]]
    # A lamp gradient added to the images changes nothing once the model flattens (up to resizing rounding).
    ramp = np.linspace(-0.15, 0.15, images[0].shape[1])[None, :]
    lit = [np.clip(img + ramp, 0, 1) for img in images]
    reloaded = MicrographClassifier.from_run(tmp_path / "run")
    np.testing.assert_allclose(reloaded.predict_proba(images), clf.predict_proba(images), atol=1e-5)
    np.testing.assert_allclose(reloaded.predict_proba(lit), reloaded.predict_proba(images), atol=0.02)
    # Models saved before flattening existed have no "flatten" in their card: they were trained without it.
    card_path = tmp_path / "run" / "model" / "card.json"
    old = {k: v for k, v in card.items() if k not in ("flatten", "flatten_sigma", "crop_scale_min")}
    card_path.write_text(json.dumps(old))
    assert MicrographClassifier.from_run(tmp_path / "run").flatten == "none"
    assert MicrographClassifier().flatten == "gaussian"  # the default since round 5 of docs/micro.md


@pytest.mark.parametrize("options", [{"flatten": "blur"}, {"flatten": "gaussian", "flatten_sigma": 0},
                                     {"crop_scale_min": 0}, {"crop_scale_min": 1.5}])
def test_bad_flatten_and_jitter_options_are_input_errors(options):
    images = [np.random.default_rng(k).random((20, 20)) for k in range(4)]
    with pytest.raises(InputError):
        MicrographClassifier(image_size=16, width=8, epochs=1, **options).fit(images, ["a", "b"] * 2)
