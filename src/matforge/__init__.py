"""matforge: machine learning for materials science.

The public API is loaded lazily so that `import matforge` (and `matforge --help`) stays instant:

>>> import matforge
>>> X = matforge.featurize(["Fe2O3", "SrTiO3"], preset="magpie")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "parse_formula": "matforge.chem",
    "fraction_matrix": "matforge.chem",
    "featurize": "matforge.features",
    "make_featurizer": "matforge.features",
    "read_table": "matforge.data",
    "AutoModel": "matforge.learn",
    "load_run": "matforge.learn",
    "train": "matforge.learn",
    "load_dataset": "matforge.data",
    "render_report": "matforge.report",
    "InputError": "matforge.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'matforge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
