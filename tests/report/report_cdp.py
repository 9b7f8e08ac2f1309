"""Open a report in headless Chromium over the DevTools protocol (``--remote-debugging-pipe``: no port, no
websocket library) and record what the page did: requests, console errors, images, section screenshots.

Used by the chromium-marked test and to make the screenshots in docs/:

    python tests/report/report_cdp.py runs/demo/report.html docs/   # writes docs/report-<section>.png
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe",
]  # fmt: skip
_PROBE = """JSON.stringify({
  sections: [...document.querySelectorAll('section')].map(s => ({id: s.id, top: s.getBoundingClientRect().top + window.scrollY,
      height: s.getBoundingClientRect().height, images: s.querySelectorAll('img').length})),
  images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth, src: i.src.slice(0, 30)})),
  scripts: document.scripts.length, links: [...document.querySelectorAll('link[href]')].map(l => l.href),
  height: document.documentElement.scrollHeight})"""


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    probe: dict = field(default_factory=dict)
    screenshots: dict[str, bytes] = field(default_factory=dict)

    @property
    def network_requests(self) -> list[str]:
        """Requests to any network address (anything but file:, data:, about:, blob:)."""
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:", "blob:", "chrome"))]


class _Pipe:
    def __init__(self, profile: str):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands from fd 3 and writes replies to fd 4; copy both above 10 first so that
        # neither dup2 can clobber the other end, and rely on PEP 446 to close every other pipe end at exec
        def setup() -> None:
            import fcntl

            read_end, write_end = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        self.process = subprocess.Popen(command, preexec_fn=setup, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> None:
        import select

        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            if b"\0" not in self._buffer and not select.select([self._from_chrome], [], [], 0.5)[0]:
                continue
            self.events.append(self._read())

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def visit(page: str | Path, *, width: int = 1200, screenshots: bool = True, timeout: float = 60.0) -> PageVisit:
    """Load `page` in headless Chromium; return its requests, console/JS errors, DOM probe and one PNG
    screenshot per ``<section>`` (keyed by section id)."""
    url = Path(page).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="matforge-chromium-") as profile:
        pipe = _Pipe(profile)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                pipe.call(f"{domain}.enable", session=session)
            pipe.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.call("Page.navigate", {"url": url}, session=session)
            pipe.wait_for("Page.loadEventFired", timeout)
            result = pipe.call("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session)
            visit = PageVisit(probe=json.loads(result["result"]["value"]))
            if screenshots:
                for section in visit.probe["sections"]:
                    clip = {"x": 0, "y": section["top"], "width": width, "height": max(1, section["height"]), "scale": 1}
                    shot = pipe.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session=session)
                    visit.screenshots[section["id"]] = base64.b64decode(shot["data"])
        finally:
            pipe.close()
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            visit.errors.append(params["entry"]["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            visit.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            visit.errors.append(params["exceptionDetails"].get("text", "exception"))
    return visit


def main(argv: list[str]) -> int:
    """Save a downscaled PNG per report section into a folder (for docs/)."""
    from io import BytesIO

    from PIL import Image

    page, folder = Path(argv[0]), Path(argv[1])
    result = visit(page)
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in result.screenshots.items():
        image = Image.open(BytesIO(png)).convert("RGB")
        image.thumbnail((900, 1600))
        # a 64-colour palette keeps each screenshot small for the repository (< 300 KB)
        image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(folder / f"report-{name}.png", optimize=True)
        print(folder / f"report-{name}.png", (folder / f"report-{name}.png").stat().st_size // 1024, "KB")
    print("requests to the network:", result.network_requests, "errors:", result.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
