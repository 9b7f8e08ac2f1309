"""`matforge micro ...`: micrograph classification, segmentation and grain statistics.

Thin wrappers over `matforge.micro`; torch and scikit-image are imported inside each command so that
`matforge --help` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app as root

app = typer.Typer(help="Micrographs: CNN classifier, U-Net segmenter, grain size statistics (ASTM E112).",
                  no_args_is_help=True)
# Registered at import, which Python does once, so calling the CLI's main() repeatedly adds it once.
root.add_typer(app, name="micro")

Out = Annotated[Path, typer.Option("--out", "-o", help="Output path")]
Seed = Annotated[int, typer.Option(help="Random seed (split, initialisation, augmentation)")]
Device = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 ...; default: the GPU when present")]
TestFraction = Annotated[float, typer.Option(help="Share of images held out for the test scores")]


def _echo_json(obj: dict) -> None:
    typer.echo(json.dumps(obj, indent=2))


@app.command("train-classifier")
def train_classifier_cmd(
    data_dir: Annotated[Path, typer.Argument(help="Folder with one sub-folder of images per class")],
    out: Out,
    test_fraction: TestFraction = 0.2,
    image_size: Annotated[int, typer.Option(help="Training crop side in px, at least 16 (images resized to 1.125x this)")] = 96,
    width: Annotated[int, typer.Option(help="Channels of the first network stage")] = 24,
    epochs: Annotated[int, typer.Option(help="Maximum training epochs")] = 40,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without improvement")] = 10,
    pretrained: Annotated[Path | None, typer.Option(help="weights.safetensors (or run folder) to start from")] = None,
    ensemble: Annotated[int, typer.Option(help="Networks trained (seeds seed, seed+1, ...) and averaged")] = 1,
    mix: Annotated[str, typer.Option(help="Mix training images in pairs: none, mixup or cutmix")] = "none",
    mix_alpha: Annotated[float | None, typer.Option(help="Beta(alpha, alpha) of the mixing share; "
                                                    "default 0.2 for mixup, 1.0 for cutmix")] = None,
    label_smoothing: Annotated[float, typer.Option(help="Share of each target spread over all classes")] = 0.1,
    swa_epochs: Annotated[int, typer.Option(help="Average the weights of this many last epochs (stochastic "
                                             "weight averaging; 0 = off, keep the best epoch)")] = 0,
    swa_lr: Annotated[float, typer.Option(help="Learning rate of the averaging epochs, share of the peak")] = 0.25,
    flatten: Annotated[str, typer.Option(help="Remove each image's slowly varying background (uneven "
                                          "illumination), also when classifying: gaussian, plane or none")] = "gaussian",
    flatten_sigma: Annotated[float, typer.Option(help="Blur sigma of --flatten gaussian, share of the image side")] = 0.25,
    crop_scale_min: Annotated[float | None, typer.Option(help="Scale jitter: training crops cover a random share "
                                                         "from this to 1 of the image area (default: fixed crops)")] = None,
    seed: Seed = 0,
    device: Device = None,
) -> None:
    """Train a CNN classifier; writes model/, metrics.json (held-out test scores) and report.html."""
    from matforge.micro import train_classifier

    clf = train_classifier(data_dir, out, test_fraction=test_fraction, seed=seed, image_size=image_size,
                           width=width, epochs=epochs, patience=patience, pretrained=pretrained, ensemble=ensemble,
                           mix=mix, mix_alpha=mix_alpha, label_smoothing=label_smoothing, swa_epochs=swa_epochs,
                           swa_lr=swa_lr, flatten=flatten, flatten_sigma=flatten_sigma,
                           crop_scale_min=crop_scale_min, device=device)
    test = clf.metrics_["test"]
    typer.echo(f"test accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f} "
               f"on {clf.metrics_['protocol']['n_test']} held-out images; run folder {out}")


@app.command("classify")
def classify_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder of train-classifier")],
    images: Annotated[Path, typer.Argument(help="An image file or a folder of images")],
    out: Out,
    device: Device = None,
) -> None:
    """Predict the class of each image; writes a CSV (image, prediction, confidence, prob_<class>)."""
    from matforge.micro import classify

    table = classify(run_dir, images, out, device=device)
    typer.echo(f"classified {len(table)} image(s) -> {out}")


@app.command("train-segmenter")
def train_segmenter_cmd(
    data_dir: Annotated[Path, typer.Argument(help="Folder with images/ and masks/ (same file names)")],
    out: Out,
    test_fraction: TestFraction = 0.2,
    patch_size: Annotated[int, typer.Option(help="Training patch side in px (multiple of 8)")] = 64,
    epochs: Annotated[int, typer.Option(help="Maximum training epochs")] = 60,
    steps_per_epoch: Annotated[int, typer.Option(help="Optimizer steps per epoch")] = 20,
    seed: Seed = 0,
    device: Device = None,
) -> None:
    """Train a U-Net segmenter; writes model/, metrics.json (IoU/Dice per class) and report.html."""
    from matforge.micro import train_segmenter

    seg = train_segmenter(data_dir, out, test_fraction=test_fraction, seed=seed, patch_size=patch_size,
                          epochs=epochs, steps_per_epoch=steps_per_epoch, device=device)
    test = seg.metrics_["test"]
    typer.echo(f"test mean IoU {test['mean_iou']:.4f}, pixel accuracy {test['pixel_accuracy']:.4f}; run folder {out}")


@app.command("segment")
def segment_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder of train-segmenter")],
    images: Annotated[Path, typer.Argument(help="An image file or a folder of images")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder")],
    device: Device = None,
) -> None:
    """Segment images; writes <name>_mask.png, <name>_overlay.png and fractions.csv into --out."""
    from matforge.micro import segment

    table = segment(run_dir, images, out, device=device)
    typer.echo(f"segmented {len(table)} image(s) -> {out}")


@app.command("grains")
def grains_cmd(
    image: Annotated[Path, typer.Argument(help="Micrograph (PNG, TIFF, BMP, JPEG)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder")],
    pixel_size: Annotated[str | None, typer.Option(help="Length of one pixel, e.g. 0.5um, 20nm (a bare number is taken as micrometres)")] = None,
    boundary_width: Annotated[float, typer.Option(help="Approximate grain boundary width in px")] = 3.0,
    smoothing: Annotated[float, typer.Option(help="Gaussian smoothing sigma in px")] = 1.0,
    bright_boundaries: Annotated[bool, typer.Option(help="Boundaries are brighter than grains")] = False,
    pore_threshold: Annotated[float | None, typer.Option(help="Grey level (0-1) below which pixels are pores")] = None,
    phase_threshold: Annotated[list[float] | None, typer.Option(help="Grey level splitting phases (repeatable)")] = None,
) -> None:
    """Grain segmentation and size statistics; writes grains.csv, summary.json and overlay.png."""
    from matforge.micro import grains

    analysis = grains(image, out, pixel_size=pixel_size, boundary_width=boundary_width, smoothing=smoothing,
                      dark_boundaries=not bright_boundaries, pore_threshold=pore_threshold,
                      phase_thresholds=phase_threshold)
    s = analysis.summary
    unit = s["units"]["length"]
    g = "n/a (give --pixel-size)" if s["astm_g"] is None else f"{s['astm_g']:.2f}"
    typer.echo(f"{s['n_grains']} grains, mean diameter {s['mean_diameter']:.3g} {unit}, mean intercept "
               f"{s['mean_intercept']:.3g} {unit}, ASTM G {g}, porosity {100 * s['porosity']:.2f} %; -> {out}")


@app.command("synthetic")
def synthetic_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder")],
    size: Annotated[int, typer.Option(help="Image side in px")] = 512,
    grains: Annotated[int, typer.Option(help="Number of grains")] = 150,
    boundary_width: Annotated[float, typer.Option(help="Boundary width in px")] = 2.0,
    porosity: Annotated[float, typer.Option(help="Pore area fraction")] = 0.0,
    particles: Annotated[float, typer.Option(help="Second-phase area fraction")] = 0.0,
    blur: Annotated[float, typer.Option(help="Gaussian blur sigma in px")] = 1.0,
    noise: Annotated[float, typer.Option(help="Gaussian noise sigma (image range 0-1)")] = 0.03,
    pixel_size: Annotated[str, typer.Option(help="Length of one pixel, e.g. 0.5um, 20nm (a bare number is taken as micrometres)")] = "1um",
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic grains and pores.")] = 0,
) -> None:
    """Write a synthetic micrograph with known truth (image.png, phases.png, truth.json) to test `grains`."""
    import numpy as np
    from PIL import Image

    from matforge.files import atomic_dir
    from matforge.micro import parse_length, synthetic_microstructure

    length, unit = parse_length(pixel_size)
    sample = synthetic_microstructure((size, size), grains, boundary_width=boundary_width, porosity=porosity,
                                      particle_fraction=particles, blur=blur, noise=noise, pixel_size=length,
                                      unit=unit, seed=seed)
    with atomic_dir(out) as tmp:
        Image.fromarray((sample.image * 65535 + 0.5).astype(np.uint16)).save(tmp / "image.png")
        Image.fromarray(sample.phase_mask).save(tmp / "phases.png")
        (tmp / "truth.json").write_text(json.dumps(sample.truth(), indent=2) + "\n")
    typer.echo(f"wrote {out}/image.png (truth: {len(np.unique(sample.grain_labels)) - 1} grains)")
