"""Design: from a trained model back to materials worth making.

- `DesignSpace` / `load_space`: compositions, alloys, site templates (charge-balanced ABX3), process
  parameters and constraints, enumerated deterministically by grid index.
- `screen`: score every candidate of a space or table, keep the best (chunked, bounded memory); its pieces
  `screen_chunk`, `merge_top`, `merge_summary` are pure so that a cluster run equals a local one.
- `optimize`: PSO, GA, NSGA-II (pymoo) and Gaussian-process Bayesian optimisation over a space.
- `suggest`: the next batch of experiments by expected improvement, UCB, PI, uncertainty or greed.
"""

from matforge.design._optimize import OPTIMIZERS, DesignResult, optimize, pareto_front
from matforge.design._screen import (
    Objective,
    ScreenResult,
    merge_summary,
    merge_top,
    screen,
    screen_chunk,
    summarize_chunk,
    tied_at_best,
)
from matforge.design._space import DesignSpace, load_space
from matforge.design._suggest import STRATEGIES, acquisition, select_batch, suggest

__all__ = [
    "OPTIMIZERS",
    "STRATEGIES",
    "DesignResult",
    "DesignSpace",
    "Objective",
    "ScreenResult",
    "acquisition",
    "load_space",
    "merge_summary",
    "merge_top",
    "optimize",
    "pareto_front",
    "screen",
    "screen_chunk",
    "select_batch",
    "suggest",
    "summarize_chunk",
    "tied_at_best",
]
