"""Micrographs: defect/phase classification (CNN), segmentation (U-Net) and grain statistics.

Needs the `micro` extra (`pip install matforge[micro]`): torch, scikit-image, safetensors.

>>> from matforge.micro import synthetic_microstructure, analyze_grains
>>> sample = synthetic_microstructure((256, 256), 40, pixel_size=0.5, seed=1)
>>> analyze_grains(sample.image, pixel_size="0.5um").summary["n_grains"]   # sample.truth()["n_grains"] == 40
"""

from matforge.micro._augment import flatten_background
from matforge.micro._classifier import (
    MicrographClassifier,
    classification_metrics,
    classify,
    train_classifier,
)
from matforge.micro._grains import (
    GrainAnalysis,
    analyze_grains,
    astm_g_intercept,
    astm_g_planimetric,
    grain_table,
    grains,
    mean_intercept_px,
    parse_length,
    segment_grains,
)
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
from matforge.micro._segmenter import MicrographSegmenter, segment, segmentation_metrics, train_segmenter
from matforge.micro._synthetic import SyntheticMicrostructure, synthetic_microstructure

__all__ = [
    "ClassFolderDataset",
    "GrainAnalysis",
    "MaskPairDataset",
    "MicrographClassifier",
    "MicrographSegmenter",
    "SyntheticMicrostructure",
    "analyze_grains",
    "astm_g_intercept",
    "astm_g_planimetric",
    "classification_metrics",
    "classify",
    "dataset_from_lists",
    "flatten_background",
    "grain_table",
    "grains",
    "list_images",
    "load_class_folders",
    "load_mask_pairs",
    "mean_intercept_px",
    "parse_length",
    "read_image",
    "read_mask",
    "segment",
    "segment_grains",
    "segmentation_metrics",
    "synthetic_microstructure",
    "train_classifier",
    "train_segmenter",
]
