"""The report in a real browser: headless Chromium loads it with no network request and no console error,
every section is there and every plot is drawn."""

from __future__ import annotations

import shutil
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ["data", "model-selection", "accuracy", "explanations", "uncertainty", "provenance"]

pytestmark = pytest.mark.chromium


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (Debian), then rerun")
    return path


@pytest.fixture(scope="module")
def report_page(request) -> Path:
    """The demo's report when `make demo` has run, otherwise the synthetic regression run's."""
    demo = REPO / "runs" / "demo" / "report.html"
    return demo if demo.exists() else request.getfixturevalue("runs")["regression"] / "report.html"


def test_report_opens_in_headless_chromium(chromium, report_page):
    from PIL import Image

    from tests.report.report_cdp import visit

    page = visit(report_page)
    assert page.network_requests == []
    assert page.errors == []
    assert [s["id"] for s in page.probe["sections"]] == SECTIONS
    assert page.probe["scripts"] == 0 and page.probe["links"] == []
    assert page.probe["images"] and all(i["complete"] and i["width"] > 0 for i in page.probe["images"])
    for name, png in page.screenshots.items():
        pixels = np.asarray(Image.open(BytesIO(png)).convert("L"), dtype=float)
        # a drawn section has text and plots: many grey levels and contrast, not a blank page
        assert pixels.std() > 10 and len(np.unique(pixels)) > 32, name
