"""Reading micrographs and the two dataset layouts (folder per class; image + mask pairs).

Every reader returns float32 arrays scaled by the range of the file's integer type (8-bit: /255, 16-bit:
/65535), so a 16-bit SEM frame and its 8-bit export give the same numbers. Problems are reported as
`InputError` naming the file, because a folder of 1800 images with one bad file is the common case.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matforge.errors import InputError

__all__ = [
    "IMAGE_SUFFIXES",
    "read_image",
    "read_mask",
    "list_images",
    "image_paths",
    "to_gray",
    "ClassFolderDataset",
    "dataset_from_lists",
    "MaskPairDataset",
    "load_class_folders",
    "load_mask_pairs",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")
# ITU-R BT.601 luma weights, the usual grey conversion of RGB micrographs.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grey (H, W) float image from grey or RGB (H, W, 3)."""
    return image if image.ndim == 2 else image @ LUMA


def _read_raw(path: Path) -> np.ndarray:
    if path.is_dir():
        raise InputError("a folder, not an image file", file=str(path), hint="Give one image file")
    if not path.is_file():
        raise InputError("image file not found", file=str(path), hint="Check the path")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            return np.asarray(tifffile.imread(path))
        from PIL import Image

        with Image.open(path) as img:
            # Mode "I;16" PNGs keep 16 bits through np.asarray; palette images become their RGB colours.
            if img.mode == "P":
                img = img.convert("RGB")
            return np.asarray(img)
    except InputError:
        raise
    except Exception as err:
        raise InputError(
            f"cannot read the image ({type(err).__name__}: {err})",
            file=str(path),
            hint="Supported: PNG, TIFF (8/16-bit), BMP, JPEG",
        ) from None


def _scale(raw: np.ndarray, path: Path) -> np.ndarray:
    if raw.dtype == bool:
        return raw.astype(np.float32)
    if np.issubdtype(raw.dtype, np.integer):
        return raw.astype(np.float32) / float(np.iinfo(raw.dtype).max)
    if np.issubdtype(raw.dtype, np.floating):
        data = raw.astype(np.float32)
        if not np.isfinite(data).all():
            raise InputError("image holds NaN or infinite pixels", file=str(path))
        lo, hi = float(data.min()), float(data.max())
        # Float TIFFs (e.g. calibrated intensity) have no fixed range: map min..max to 0..1.
        return (data - lo) / (hi - lo) if hi > lo else np.zeros_like(data)
    raise InputError(f"unsupported pixel type {raw.dtype}", file=str(path))


def read_image(path: str | os.PathLike, *, gray: bool = False) -> np.ndarray:
    """Read a micrograph as float32 in [0, 1], shape (H, W) for grey or (H, W, 3) for colour.

    Alpha channels are dropped; RGB images whose three channels are equal (common for exported SEM
    frames) come back grey. With `gray=True` colour is converted with ITU-R BT.601 luma weights.
    """
    path = Path(path)
    data = _scale(_read_raw(path), path)
    if data.ndim == 3 and data.shape[-1] in (2, 4):
        data = data[..., : data.shape[-1] - 1]
    if data.ndim == 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 3 and data.shape[-1] == 3:
        if gray or (np.array_equal(data[..., 0], data[..., 1]) and np.array_equal(data[..., 0], data[..., 2])):
            data = to_gray(data)
    if data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[-1] != 3):
        raise InputError(
            f"expected a 2-D grey or RGB image, got an array of shape {data.shape}",
            file=str(path),
            hint="Multi-page TIFF stacks are not supported; save one frame per file",
        )
    if min(data.shape[:2]) < 8:
        raise InputError(f"image is too small ({data.shape[1]} x {data.shape[0]} px)", file=str(path))
    return np.ascontiguousarray(data, dtype=np.float32)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a label mask as integers (H, W); colour masks must be grey (R=G=B) label images."""
    path = Path(path)
    raw = _read_raw(path)
    if raw.ndim == 3:
        if raw.shape[-1] == 4:
            raw = raw[..., :3]
        if not (np.array_equal(raw[..., 0], raw[..., 1]) and np.array_equal(raw[..., 0], raw[..., -1])):
            raise InputError(
                "mask is a colour image", file=str(path), hint="Save masks as grey label images (one value per class)"
            )
        raw = raw[..., 0]
    if not np.issubdtype(raw.dtype, np.integer) and raw.dtype != bool:
        raise InputError(f"mask pixels must be integers, got {raw.dtype}", file=str(path))
    return raw.astype(np.int64)


def list_images(path: str | os.PathLike) -> list[Path]:
    """One image file, or every image file in a folder (sorted by name, not recursive)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError("no such file or folder", file=str(path), hint="Check the path")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(
            "folder holds no image files", file=str(path), hint=f"Expected files ending in {', '.join(IMAGE_SUFFIXES)}"
        )
    return files


def image_paths(images: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """A file, a folder (its images, sorted) or a list of files, as a list of paths."""
    return list_images(images) if isinstance(images, (str, os.PathLike)) else [Path(p) for p in images]


@dataclass
class ClassFolderDataset:
    """Image paths with their class labels; `classes` is the sorted list of class names."""

    paths: list[Path]
    labels: np.ndarray
    classes: list[str]


def dataset_from_lists(paths: Sequence[str | os.PathLike], labels: Sequence[str], *, source: str = "") -> ClassFolderDataset:
    """Build a classification dataset from parallel lists of image paths and class names."""
    if len(paths) != len(labels):
        raise InputError(f"{len(paths)} images but {len(labels)} labels", file=source or None)
    classes = sorted({str(label) for label in labels})
    if len(classes) < 2:
        raise InputError(
            f"only one class ({classes[0] if classes else 'none'}) found",
            file=source or None,
            hint="A classifier needs images of at least two classes, one sub-folder per class",
        )
    index = {name: i for i, name in enumerate(classes)}
    return ClassFolderDataset([Path(p) for p in paths], np.array([index[str(x)] for x in labels]), classes)


def load_class_folders(root: str | os.PathLike, *, min_per_class: int = 2) -> ClassFolderDataset:
    """Read a folder with one sub-folder per class (`root/<class>/<image>`), as in torchvision's ImageFolder.

    Raises `InputError` for a missing folder, fewer than two classes, or a class with fewer than
    `min_per_class` images (a stratified test split needs at least two per class).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("no such folder", file=str(root), hint="Give a folder with one sub-folder per class")
    paths: list[Path] = []
    labels: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < min_per_class:
            raise InputError(
                f"class '{sub.name}' has {len(files)} image(s), at least {min_per_class} needed",
                file=str(sub),
            )
        paths += files
        labels += [sub.name] * len(files)
    if not paths:
        raise InputError(
            "no class sub-folders with images found", file=str(root), hint="Layout: DIR/<class name>/<image files>"
        )
    return dataset_from_lists(paths, labels, source=str(root))


@dataclass
class MaskPairDataset:
    """Segmentation pairs: `images[i]` (float, H x W [x 3]) with `masks[i]` (class indices 0..K-1, H x W).

    `mask_values[k]` is the pixel value that class k has in the user's mask files, so predictions can be
    written back in the same convention (e.g. 0/255 for binary masks).
    """

    image_paths: list[Path]
    images: list[np.ndarray]
    masks: list[np.ndarray]
    mask_values: list[int]


def load_mask_pairs(root: str | os.PathLike) -> MaskPairDataset:
    """Read `root/images/<name>.<ext>` with `root/masks/<name>.<ext>` (same file stem).

    Masks hold one integer value per class; all distinct values over all masks become the classes.
    Raises `InputError` for a missing mask, a mask whose size differs from its image, or masks that hold a
    single value everywhere.
    """
    root = Path(root)
    image_dir, mask_dir = root / "images", root / "masks"
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise InputError(
                f"missing folder '{folder.name}'", file=str(root), hint="Layout: DIR/images/<name>.png and DIR/masks/<name>.png"
            )
    masks_by_stem = {p.stem: p for p in mask_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
    image_paths = list_images(image_dir)
    images, raw_masks = [], []
    for path in image_paths:
        if path.stem not in masks_by_stem:
            raise InputError("image has no mask", file=str(path), hint=f"Expected {mask_dir / path.stem}.png")
        image = read_image(path)
        mask = read_mask(masks_by_stem[path.stem])
        if mask.shape != image.shape[:2]:
            raise InputError(
                f"mask is {mask.shape[1]} x {mask.shape[0]} px but its image is {image.shape[1]} x {image.shape[0]} px",
                file=str(masks_by_stem[path.stem]),
            )
        images.append(image)
        raw_masks.append(mask)
    values = np.unique(np.concatenate([np.unique(m) for m in raw_masks]))
    if len(values) < 2:
        raise InputError(
            f"every mask holds the single value {int(values[0])}",
            file=str(mask_dir),
            hint="Masks need at least two classes (e.g. 0 = background, 255 = phase)",
        )
    masks = [np.searchsorted(values, m).astype(np.int64) for m in raw_masks]
    return MaskPairDataset(image_paths, images, masks, [int(v) for v in values])
