"""Reading, validating and registering data: the first step of every matforge workflow."""

from matforge.data._dataset import (
    Dataset,
    Problem,
    composition_keys,
    detect_formula_columns,
    detect_smiles_columns,
    detect_structure_columns,
    prepare_dataset,
)
from matforge.data._read import TABLE_FORMATS, read_table
from matforge.data._registry import DATASETS, DatasetInfo, dataset_info, load_dataset
from matforge.data._structures import align_structure_column, parse_structures, read_structure_table

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "dataset_info",
    "load_dataset",
    "TABLE_FORMATS",
    "Dataset",
    "Problem",
    "composition_keys",
    "detect_formula_columns",
    "detect_smiles_columns",
    "detect_structure_columns",
    "align_structure_column",
    "parse_structures",
    "prepare_dataset",
    "read_structure_table",
    "read_table",
]
