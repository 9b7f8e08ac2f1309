"""One progress-bar style for every long task (rich), quiet when output is not a terminal or in tests."""

from __future__ import annotations

import os
import sys

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar"]


def progress_bar(*, disable: bool | None = None) -> Progress:
    """A rich `Progress` writing to stderr; disabled when stderr is no terminal or MATFORGE_QUIET is set."""
    if disable is None:
        disable = bool(os.environ.get("MATFORGE_QUIET")) or not sys.stderr.isatty()
    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=disable,
        transient=False,
    )
