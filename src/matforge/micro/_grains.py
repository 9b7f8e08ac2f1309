"""Grain statistics without labels: segmentation by filtering, thresholding and watershed; ASTM E112 sizes.

Assumptions, valid for etched bright-field optical and most SEM micrographs: grain boundaries are thin
dark lines (use `dark_boundaries=False` for bright ones), pores are dark regions wider than a boundary,
and a second phase, when asked for, differs in grey level (`phase_thresholds`).

Grain size numbers follow ASTM E112-13 ("Standard Test Methods for Determining Average Grain Size"):
planimetric (Jeffries) G = 3.321928 log10(N_A) - 2.954 with N_A grains per mm^2 at 1x, counting grains cut
by the image edge as half; intercept (Heyn) G = -6.643856 log10(l) - 3.288 with the mean lineal intercept
l in mm, measured on horizontal and vertical test lines.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matforge.errors import InputError
from matforge.micro._io import to_gray

__all__ = [
    "parse_length",
    "segment_grains",
    "grain_table",
    "grain_summary",
    "mean_intercept_px",
    "astm_g_planimetric",
    "astm_g_intercept",
    "GrainAnalysis",
    "analyze_grains",
    "grain_overlay",
    "grains",
]

_UNIT_MM = {"nm": 1e-6, "um": 1e-3, "µm": 1e-3, "μm": 1e-3, "micron": 1e-3, "mm": 1.0, "px": None}


def parse_length(text: str | float | None) -> tuple[float, str]:
    """'0.5um' -> (0.5, 'um'); a bare number is taken as micrometres; None -> (1.0, 'px')."""
    if text is None:
        return 1.0, "px"
    if isinstance(text, (int, float)):
        value, unit = float(text), "um"
    else:
        match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([a-zA-Zµμ]*)\s*", str(text))
        if not match:
            raise InputError("cannot read the pixel size", value=text, hint="Write e.g. 0.5um, 20nm or 0.001mm")
        try:
            value = float(match.group(1))
        except ValueError:
            raise InputError("cannot read the pixel size", value=text, hint="Write e.g. 0.5um") from None
        unit = match.group(2) or "um"
    unit = {"µm": "um", "μm": "um", "micron": "um"}.get(unit, unit)
    if unit not in _UNIT_MM:
        raise InputError(f"unknown length unit '{unit}'", value=text, hint="Use nm, um or mm")
    if not value > 0 or not math.isfinite(value):
        raise InputError("pixel size must be a positive number", value=text)
    return value, unit


def astm_g_planimetric(grains_per_mm2: float) -> float:
    """ASTM E112 grain size number from the number of grains per mm^2 at 1x (planimetric method)."""
    return 3.321928 * math.log10(grains_per_mm2) - 2.954 if grains_per_mm2 > 0 else float("nan")


def astm_g_intercept(mean_intercept_mm: float) -> float:
    """ASTM E112 grain size number from the mean lineal intercept length in mm (intercept method)."""
    return -6.643856 * math.log10(mean_intercept_mm) - 3.288 if mean_intercept_mm > 0 else float("nan")


def mean_intercept_px(labels: np.ndarray, spacing: int | None = None) -> float:
    """Mean lineal intercept in pixels: grain-phase length of horizontal and vertical test lines divided
    by the number of grain boundaries they cross (pores, label 0, are skipped, not counted as grains)."""
    h, w = labels.shape
    spacing = spacing or max(1, min(h, w) // 20)
    length, crossings = 0, 0
    for lines in (labels[spacing // 2 :: spacing, :], labels[:, spacing // 2 :: spacing].T):
        for line in lines:
            grain = line[line > 0]
            length += grain.size
            crossings += int(np.count_nonzero(np.diff(grain)))
    return length / crossings if crossings else float("nan")


def grain_table(labels: np.ndarray, pixel_size: float = 1.0) -> pd.DataFrame:
    """One row per grain: label, area, equivalent diameter, major/minor axis, aspect ratio, perimeter,
    orientation (degrees), centroid, whether it touches the image edge. Lengths in pixel_size units."""
    from skimage.measure import regionprops_table

    props = regionprops_table(
        labels,
        properties=("label", "area", "equivalent_diameter_area", "axis_major_length", "axis_minor_length",
                    "perimeter", "orientation", "centroid", "bbox"),
    )
    h, w = labels.shape
    table = pd.DataFrame(
        {
            "grain": props["label"],
            "area": props["area"] * pixel_size**2,
            "equivalent_diameter": props["equivalent_diameter_area"] * pixel_size,
            "major_axis": props["axis_major_length"] * pixel_size,
            "minor_axis": props["axis_minor_length"] * pixel_size,
            "perimeter": props["perimeter"] * pixel_size,
            "orientation_deg": np.degrees(props["orientation"]),
            "centroid_x": props["centroid-1"] * pixel_size,
            "centroid_y": props["centroid-0"] * pixel_size,
            "touches_edge": (props["bbox-0"] == 0) | (props["bbox-1"] == 0) | (props["bbox-2"] == h) | (props["bbox-3"] == w),
        }
    )
    table.insert(5, "aspect_ratio", table["major_axis"] / table["minor_axis"].where(table["minor_axis"] > 0))
    return table


def grain_summary(labels: np.ndarray, pore_mask: np.ndarray, pixel_size: float, unit: str,
                  table: pd.DataFrame | None = None) -> dict:
    """n_grains, mean diameter (grains inside the image), mean intercept, ASTM G (both methods), porosity."""
    table = grain_table(labels, pixel_size) if table is None else table
    inside = table[~table["touches_edge"]]
    n_edge = int(table["touches_edge"].sum())
    area = labels.size * pixel_size**2
    intercept = mean_intercept_px(labels) * pixel_size
    to_mm = _UNIT_MM[unit]
    summary = {
        "n_grains": len(table),
        "n_grains_inside": len(inside),
        "n_grains_edge": n_edge,
        "mean_diameter": float(inside["equivalent_diameter"].mean()) if len(inside) else float("nan"),
        "median_diameter": float(inside["equivalent_diameter"].median()) if len(inside) else float("nan"),
        "mean_intercept": float(intercept),
        "grains_per_area": (len(inside) + 0.5 * n_edge) / area,
        "astm_g": None,
        "astm_g_intercept": None,
        "porosity": float(pore_mask.mean()),
        "units": {"length": unit, "area": f"{unit}^2", "porosity": "area fraction"},
        "pixel_size": pixel_size,
        "image_shape": list(labels.shape),
    }
    if to_mm is not None:
        summary["astm_g"] = astm_g_planimetric(summary["grains_per_area"] / to_mm**2)
        summary["astm_g_intercept"] = astm_g_intercept(intercept * to_mm)
    return summary


def segment_grains(
    image: np.ndarray,
    *,
    boundary_width: float = 3.0,
    smoothing: float = 1.0,
    dark_boundaries: bool = True,
    pore_threshold: float | None = None,
    min_grain_area: int = 30,
    min_pore_area: int = 20,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Label the grains of a micrograph; returns (labels, boundary mask, pore mask, smoothed image).

    Steps: Gaussian smoothing (sigma `smoothing` px); the black top-hat with a disk wider than a boundary
    picks out thin dark lines whatever the grains' own grey levels, Otsu's threshold on it gives the
    boundary network; pores are pixels darker than `pore_threshold` (default Otsu's threshold of the image)
    that survive an opening wider than a boundary; grain interiors (eroded, small pieces dropped) seed a
    marker-controlled watershed (Beucher & Meyer 1993) that gives every non-pore pixel to a grain.
    """
    from scipy import ndimage as ndi
    from skimage import filters, morphology, segmentation

    gray = to_gray(image)
    lo, hi = np.percentile(gray, (0.1, 99.9))
    if hi <= lo:
        raise InputError("the image is uniform: no grains to find")
    gray = np.clip((gray - lo) / (hi - lo), 0, 1)
    smooth = filters.gaussian(gray, smoothing) if smoothing > 0 else gray
    if not dark_boundaries:
        smooth = 1.0 - smooth
    radius = max(1, int(math.ceil(boundary_width)))
    def dark_regions(threshold: float) -> np.ndarray:
        opened = ndi.binary_opening(smooth < threshold, morphology.disk(radius + 1))
        return morphology.remove_small_objects(opened, max_size=min_pore_area)

    if pore_threshold is None:
        otsu = filters.threshold_otsu(smooth)
        pores = dark_regions(otsu)
        if pores.any():
            # Otsu's cut lies nearer the (far more numerous) grain pixels; a blurred pore edge crosses
            # the half-way level between pore and grain grey at its true position, so cut there.
            pore_level = float(np.median(smooth[pores]))
            grain_level = float(np.median(smooth[smooth >= otsu]))
            pores = dark_regions(0.5 * (pore_level + grain_level))
    else:
        pores = dark_regions(pore_threshold)
    tophat = morphology.black_tophat(smooth, morphology.disk(radius))
    # Pore rims also light up in the top-hat and would pull Otsu's threshold above the boundaries' level.
    near_pores = ndi.binary_dilation(pores, morphology.disk(2 * radius + 2))
    boundaries = tophat > filters.threshold_otsu(tophat[~near_pores] if (~near_pores).any() else tophat)
    boundaries &= ~pores
    # Pores are no grain interior: a pore on a boundary must not join the markers of two grains.
    interior = ndi.binary_erosion(~boundaries & ~pores, morphology.disk(1))
    markers, _ = ndi.label(interior)
    markers = morphology.remove_small_objects(markers, max_size=min_grain_area)
    labels = segmentation.watershed(tophat, markers, mask=~pores)
    labels, _, _ = segmentation.relabel_sequential(labels)
    return labels.astype(np.int32), boundaries, pores, smooth


@dataclass
class GrainAnalysis:
    """Result of `analyze_grains`: per-grain table, summary dict, label image and masks."""

    table: pd.DataFrame
    summary: dict
    labels: np.ndarray
    boundary_mask: np.ndarray
    pore_mask: np.ndarray
    phase_map: np.ndarray


def analyze_grains(
    image: np.ndarray,
    *,
    pixel_size: str | float | None = None,
    boundary_width: float = 3.0,
    smoothing: float = 1.0,
    dark_boundaries: bool = True,
    pore_threshold: float | None = None,
    phase_thresholds: Sequence[float] | None = None,
    min_grain_area: int = 30,
) -> GrainAnalysis:
    """Segment grains and pores of a micrograph and measure them.

    Parameters
    ----------
    image : float array in [0, 1] (as from `read_image`), grey or RGB.
    pixel_size : length of one pixel, '0.5um', '20nm' or a number in um; without it lengths are in px and
        the ASTM grain size number (defined in mm) is not computed.
    boundary_width : approximate full width of the grain boundaries in pixels (sets the filter sizes).
    phase_thresholds : grey levels of the image (0..1, as read, after the smoothing) splitting the
        non-pore area into phases, reported as `phase_fractions` (phase_1 darkest); default: one phase.
    Other parameters as in `segment_grains`.

    Returns a `GrainAnalysis`; its `summary` holds n_grains, mean_diameter, mean_intercept, astm_g
    (planimetric), astm_g_intercept, porosity, phase_fractions and units.
    """
    size, unit = parse_length(pixel_size)
    labels, boundaries, pores, _ = segment_grains(
        image, boundary_width=boundary_width, smoothing=smoothing, dark_boundaries=dark_boundaries,
        pore_threshold=pore_threshold, min_grain_area=min_grain_area,
    )
    if labels.max() == 0:
        raise InputError("no grains found", hint="Check --boundary-width and that boundaries are darker than grains")
    table = grain_table(labels, size)
    summary = grain_summary(labels, pores, size, unit, table)
    cuts = sorted(phase_thresholds or [])
    if cuts:
        from skimage.filters import gaussian

        # Thresholds are grey levels of the image as read (0..1), which a user can read off any viewer.
        gray = to_gray(image)
        levels = gaussian(gray, smoothing) if smoothing > 0 else gray
        phase_map = np.where(pores, 0, 1 + np.digitize(levels, cuts)).astype(np.uint8)
    else:
        phase_map = np.where(pores, 0, 1).astype(np.uint8)
    names = ["matrix"] if not cuts else [f"phase_{k + 1}" for k in range(len(cuts) + 1)]
    summary["phase_fractions"] = {"pores": summary["porosity"],
                                  **{name: float((phase_map == k + 1).mean()) for k, name in enumerate(names)}}
    summary["method"] = {"boundary_width_px": boundary_width, "smoothing_px": smoothing,
                         "dark_boundaries": dark_boundaries, "phase_thresholds": cuts,
                         "astm": "ASTM E112-13 planimetric (Jeffries) and intercept (Heyn)"}
    return GrainAnalysis(table, summary, labels, boundaries, pores, phase_map)


def grain_overlay(image: np.ndarray, analysis: GrainAnalysis) -> np.ndarray:
    """uint8 RGB: the micrograph with grain outlines (red), pores (blue) and brighter phases (yellow)."""
    from skimage.segmentation import find_boundaries

    from matforge.micro._report import overlay

    # Tint classes: 1 pores (blue), 2.. phases above the first threshold (yellow); the matrix stays grey.
    tint = np.where(analysis.pore_mask, 1, np.where(analysis.phase_map >= 2, 2, 0))
    rgb = overlay(image, tint, alpha=0.55, palette=np.array([[30, 90, 255], [255, 220, 0]]))
    rgb[find_boundaries(analysis.labels, mode="inner") & (analysis.labels > 0)] = (230, 25, 30)
    return rgb


def grains(
    image: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    pixel_size: str | float | None = None,
    **params,
) -> GrainAnalysis:
    """Analyse the grains of one micrograph file; with `out`, write the results into that folder.

    Files: `grains.csv` (one row per grain), `summary.json` (n_grains, mean_diameter, mean_intercept,
    astm_g, astm_g_intercept, porosity, phase_fractions, units) and `overlay.png`. `params` go to
    `analyze_grains`.
    """
    from PIL import Image

    from matforge.files import atomic_dir, refuse_overwrite_input
    from matforge.micro._io import read_image

    picture = read_image(image)
    analysis = analyze_grains(picture, pixel_size=pixel_size, **params)
    analysis.summary["image"] = str(image)
    if out is not None:
        refuse_overwrite_input(out, image)
        with atomic_dir(out) as tmp:
            analysis.table.to_csv(tmp / "grains.csv", index=False)
            (tmp / "summary.json").write_text(json.dumps(analysis.summary, indent=2) + "\n")
            Image.fromarray(grain_overlay(picture, analysis)).save(tmp / "overlay.png")
    return analysis
