"""Reading micrographs and dataset folders, and the errors for unusable input."""

from __future__ import annotations

import numpy as np
import pytest

from matforge.errors import InputError
from matforge.micro import list_images, load_class_folders, load_mask_pairs, read_image, read_mask
from tests.micro.conftest import save_png


def test_16bit_png_and_tiff_read_like_their_8bit_export(tmp_path):
    import tifffile
    from PIL import Image

    ramp = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "frame16.png")
    tifffile.imwrite(tmp_path / "frame16.tif", (ramp * 65535).astype(np.uint16))
    save_png(tmp_path / "frame8.png", ramp)
    png16, tif16, png8 = (read_image(tmp_path / n) for n in ("frame16.png", "frame16.tif", "frame8.png"))
    assert png16.dtype == np.float32 and png16.shape == (32, 32)
    np.testing.assert_allclose(png16, ramp, atol=1e-4)
    np.testing.assert_allclose(tif16, ramp, atol=1e-4)
    np.testing.assert_allclose(png8, ramp, atol=1 / 255)


def test_grey_rgb_jpeg_and_bmp_come_back_grey(tmp_path):
    from PIL import Image

    grey = (np.random.default_rng(0).random((24, 40)) * 255).astype(np.uint8)
    Image.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "grey_as_rgb.bmp")
    Image.fromarray(grey).save(tmp_path / "grey.jpg", quality=95)
    assert read_image(tmp_path / "grey_as_rgb.bmp").shape == (24, 40)
    assert read_image(tmp_path / "grey.jpg").shape == (24, 40)
    colour = np.zeros((16, 16, 3), dtype=np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(tmp_path / "colour.png")
    assert read_image(tmp_path / "colour.png").shape == (16, 16, 3)
    assert read_image(tmp_path / "colour.png", gray=True).shape == (16, 16)


def test_unreadable_image_names_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(InputError, match="broken.png"):
        read_image(bad)
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.tif")


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="no image files"):
        list_images(tmp_path)


def test_class_folders_give_sorted_classes(tmp_path):
    for name in ("pearlite", "ferrite"):
        for k in range(3):
            save_png(tmp_path / name / f"{k}.png", np.full((16, 16), 0.2 * k))
    data = load_class_folders(tmp_path)
    assert data.classes == ["ferrite", "pearlite"]
    assert np.bincount(data.labels).tolist() == [3, 3]


def test_one_class_only_is_an_error(tmp_path):
    for k in range(3):
        save_png(tmp_path / "ferrite" / f"{k}.png", np.full((16, 16), 0.5))
    with pytest.raises(InputError, match="only one class"):
        load_class_folders(tmp_path)


def test_mask_size_mismatch_is_an_error(tmp_path):
    save_png(tmp_path / "images" / "a.png", np.zeros((32, 32)))
    save_png(tmp_path / "masks" / "a.png", np.zeros((30, 32), dtype=np.uint8))
    with pytest.raises(InputError, match="mask is 32 x 30 px but its image is 32 x 32 px"):
        load_mask_pairs(tmp_path)


def test_missing_mask_and_single_value_masks_are_errors(tmp_path):
    save_png(tmp_path / "images" / "a.png", np.zeros((16, 16)))
    save_png(tmp_path / "masks" / "a.png", np.zeros((16, 16), dtype=np.uint8))
    with pytest.raises(InputError, match="single value"):
        load_mask_pairs(tmp_path)
    save_png(tmp_path / "images" / "b.png", np.zeros((16, 16)))
    with pytest.raises(InputError, match="has no mask"):
        load_mask_pairs(tmp_path)


def test_mask_values_map_to_class_indices(tmp_path):
    mask = np.zeros((16, 16), dtype=np.uint8)
    mask[4:8] = 255
    save_png(tmp_path / "images" / "a.png", np.zeros((16, 16)))
    save_png(tmp_path / "masks" / "a.png", mask)
    pairs = load_mask_pairs(tmp_path)
    assert pairs.mask_values == [0, 255]
    assert set(np.unique(pairs.masks[0])) == {0, 1}
    assert read_mask(tmp_path / "masks" / "a.png").max() == 255
