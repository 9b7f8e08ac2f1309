"""Design: from a trained model back to materials worth making.

- `DesignSpace` / `load_space`: compositions, alloys, site templates (charge-balanced ABX3), process
  parameters and constraints, enumerated deterministically by grid index.
- `screen`: score every candidate of a space or table, keep the best (chunked, bounded memory); its pieces
  `screen_chunk`, `merge_top`, `merge_summary` are pure so that a cluster run equals a local one.
"""

from matforge.design._screen import (
    Objective,
    ScreenResult,
    merge_summary,
    merge_top,
    screen,
    screen_chunk,
    summarize_chunk,
)
from matforge.design._space import DesignSpace, load_space

__all__ = [
    "DesignSpace",
    "Objective",
    "ScreenResult",
    "load_space",
    "merge_summary",
    "merge_top",
    "screen",
    "screen_chunk",
    "summarize_chunk",
]
