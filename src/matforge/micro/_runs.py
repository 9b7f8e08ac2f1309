"""Run folders of the image models: `model/weights.safetensors` + `model/card.json`, `metrics.json`.

Weights are stored with safetensors (tensors only, no pickle), so a run folder received from someone else
cannot execute code when loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from matforge.errors import InputError, ModelError
from matforge.micro._io import to_gray

__all__ = ["versions", "data_hash", "write_json", "save_model", "load_model", "images_to_tensor"]

CARD_VERSION = 1


def versions() -> dict[str, str]:
    """Versions of the packages that produced a model, recorded in its card."""
    import skimage

    import matforge

    return {
        "matforge": getattr(matforge, "__version__", "unknown"),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-image": skimage.__version__,
    }


def data_hash(arrays: Iterable[np.ndarray]) -> str:
    """SHA-256 over the training pixels, to tell later which data a model saw."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def write_json(path: str | os.PathLike, obj: Any) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_model(run_dir: Path, net: torch.nn.Module, card: dict) -> None:
    """Write the network weights and its card into `run_dir/model/`."""
    from safetensors.torch import save_file

    model_dir = run_dir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(model_dir / "weights.safetensors"))
    write_json(model_dir / "card.json", {"card_version": CARD_VERSION, **card})


def load_model(run_dir: str | os.PathLike, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Card and weights of a run folder written by `train_classifier` (kind "classifier") or
    `train_segmenter` (kind "segmenter")."""
    from safetensors.torch import load_file

    model_dir = Path(run_dir) / "model"
    card_path, weights_path = model_dir / "card.json", model_dir / "weights.safetensors"
    if not card_path.is_file() or not weights_path.is_file():
        raise InputError(
            "not a matforge micro run folder (model/card.json or model/weights.safetensors missing)",
            file=str(run_dir),
            hint=f"Give the --out folder of `matforge micro train-{kind}`",
        )
    card = json.loads(card_path.read_text())
    if card.get("kind") != kind:
        raise InputError(
            f"this run folder holds a {card.get('kind', 'unknown')} model, not a {kind}", file=str(run_dir)
        )
    if card.get("card_version", 0) > CARD_VERSION:
        raise ModelError(f"{run_dir}: model card version {card['card_version']} is newer than this matforge reads")
    return card, load_file(str(weights_path))


def images_to_tensor(images: list[np.ndarray], size: int, in_channels: int) -> torch.Tensor:
    """Stack images as (N, C, size, size) float32: shorter side resized to `size`, centre square kept.

    Grey images are repeated to 3 channels for colour models; colour images are reduced to luma for grey
    models. Downscaling is antialiased so fine texture is averaged, not aliased.
    """
    out = torch.empty((len(images), in_channels, size, size), dtype=torch.float32)
    for i, image in enumerate(images):
        if image.ndim == 2:
            t = torch.from_numpy(image)[None].expand(in_channels, -1, -1)
        elif in_channels == 1:
            t = torch.from_numpy(to_gray(image))[None]
        else:
            t = torch.from_numpy(image).permute(2, 0, 1)
        h, w = t.shape[-2:]
        scale = size / min(h, w)
        new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
        t = torch.nn.functional.interpolate(
            t[None].float(), size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False
        )[0]
        top, left = (new_h - size) // 2, (new_w - size) // 2
        out[i] = t[:, top : top + size, left : left + size]
    return out
