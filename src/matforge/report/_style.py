"""One place that sets up matplotlib for the report: non-interactive backend, PNG encoding for the page."""

from __future__ import annotations

__all__ = ["plt", "figure_to_base64"]


def plt():
    """`matplotlib.pyplot` on the Agg backend unless the user already chose one (notebooks keep theirs)."""
    import matplotlib

    if "matplotlib.pyplot" not in __import__("sys").modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def figure_to_base64(fig, dpi: int = 90) -> str:
    """The figure as base64 PNG (for an inline ``<img>``); closes the figure."""
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
