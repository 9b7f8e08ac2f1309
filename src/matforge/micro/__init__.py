"""Micrographs: defect/phase classification (CNN), segmentation (U-Net) and grain statistics.

Needs the `micro` extra (`pip install matforge[micro]`): torch, scikit-image, safetensors.
"""

from matforge.micro._classifier import MicrographClassifier, classification_metrics, classify, train_classifier
from matforge.micro._io import (
    ClassFolderDataset,
    MaskPairDataset,
    dataset_from_lists,
    list_images,
    load_class_folders,
    load_mask_pairs,
    read_image,
    read_mask,
)

__all__ = [
    "ClassFolderDataset",
    "MaskPairDataset",
    "MicrographClassifier",
    "classification_metrics",
    "classify",
    "dataset_from_lists",
    "list_images",
    "load_class_folders",
    "load_mask_pairs",
    "read_image",
    "read_mask",
    "train_classifier",
]
