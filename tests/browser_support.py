"""Serving the app and driving it in headless Chromium (Debian's package, through Playwright's Python API).

Chromium runs with the flags that keep it from calling out to other hosts on a closed network; every request
the page makes is recorded, and tests fail on any request to a host other than localhost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        return f"Debian's chromium is not installed ({CHROMIUM} missing)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def served_app(extra_args=(), timeout: float = 90.0, env: dict | None = None):
    """Run ``rbm-explorer serve`` on a free port (``env``: extra environment variables); yields the base URL."""
    from server_process import ServedProcess  # it imports this module's helpers

    with ServedProcess(extra_args, env=env, timeout=timeout) as server:
        yield server.url


def watched_page(context):
    """A new page of a Playwright browser context that records its off-host requests (``page.foreign_requests``)
    and its script errors (``page.page_errors``)."""
    page = context.new_page()
    foreign: list[str] = []
    errors: list[str] = []

    def on_request(request):
        host = urlparse(request.url).hostname or ""
        if request.url.startswith(("data:", "blob:", "about:")):
            return
        if host not in LOCAL_HOSTS:
            foreign.append(request.url)

    page.on("request", on_request)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.foreign_requests = foreign
    page.page_errors = errors
    return page


@contextlib.contextmanager
def chromium_contexts(count: int, viewport=(1400, 900)):
    """``count`` separate browser contexts of one headless Debian Chromium: as many users, each with their own
    cookies and storage. Open pages with ``watched_page(context)``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield [browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}) for _ in range(count)]
        finally:
            browser.close()


@contextlib.contextmanager
def chromium_page(viewport=(1400, 900)):
    """A Playwright page in headless Debian Chromium; ``page.foreign_requests`` lists off-host requests."""
    with chromium_contexts(1, viewport) as (context,):
        yield watched_page(context)


def tiles_from_png(png: bytes, grid=(8, 8), tile_shape=(28, 28), gap_rgb=(157, 180, 208)):
    """Read a chain grid back from a screenshot of its canvas: ``grid`` rows x columns of ``tile_shape`` tiles
    separated by one-pixel gaps drawn in ``gap_rgb``, scaled to the canvas. Returns (tiles x pixels) grey
    levels in [0, 1], or None when the gaps are not where they should be (a frame caught mid-layout)."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    rgb = np.asarray(image).astype(np.float64)
    rows, cols = grid
    th, tw = tile_shape
    sy = rgb.shape[0] / (rows * (th + 1) - 1)
    sx = rgb.shape[1] / (cols * (tw + 1) - 1)
    for r in range(1, rows):  # the middle of every gap row must be gap-coloured
        y = int((r * (th + 1) - 0.5) * sy)
        if np.mean(np.all(np.abs(rgb[y] - np.array(gap_rgb)) < 24, axis=1)) < 0.8:
            return None
    grey = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    tiles = []
    for r in range(rows):
        for c in range(cols):
            y0, x0 = r * (th + 1) * sy, c * (tw + 1) * sx
            block = grey[int(round(y0)):int(round(y0 + th * sy)), int(round(x0)):int(round(x0 + tw * sx))]
            resized = Image.fromarray((block * 255).astype(np.uint8)).resize((tw, th), Image.BOX)
            tiles.append(np.asarray(resized, dtype=np.float64).reshape(-1) / 255)
    return np.array(tiles)


# JavaScript that counts the Morph grid's painted frames: each drawImage on the grid's canvas (``ChainCanvas``
# draws one decoded PNG per frame) pushes the timestamp of the animation frame that shows it into
# ``window[name].frames``. Used as ``page.evaluate(count_chain_paints("__bench"))``.
def count_chain_paints(name: str) -> str:
    return """
() => {
  const B = window.%s = window.%s || {};
  B.frames = B.frames || [];
  B.changes = B.changes || [];
  if (!B.patched) {
    const draw = CanvasRenderingContext2D.prototype.drawImage;
    CanvasRenderingContext2D.prototype.drawImage = function (...args) {
      if (this.canvas && this.canvas.classList.contains('chains-picture'))
        requestAnimationFrame((t) => { B.changes.push(performance.now()); B.frames.push(t); });
      return draw.apply(this, args);
    };
    B.patched = true;
  }
  return true;
}
""" % (name, name)


# The visible text of an element, including what Panel renders inside its shadow roots (for locator.evaluate).
DEEP_TEXT = """
element => {
  const walk = node => {
    if (node.nodeType === Node.TEXT_NODE) return node.textContent;
    if (node.nodeName === "STYLE" || node.nodeName === "SCRIPT") return "";
    let text = node.shadowRoot ? walk(node.shadowRoot) : "";
    for (const child of node.childNodes) text += walk(child);
    return text + " ";
  };
  return walk(element);
}
"""
