"""Screenshots of every explorer page for the README, taken from a served app in headless Debian Chromium.

Usage: ``python scripts/take_screenshots.py`` (writes ``docs/morph.png``, ``docs/train.png``,
``docs/models.png``). The Morph shot is taken a few seconds after flipping the released unit of the MNIST 0/1
model, mid-morph; the Train shot after a short live run has started.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import chromium_page, served_app, wait_until  # noqa: E402

DOCS = ROOT / "docs"


def status(page) -> str:
    return " ".join(page.locator(".morph-status p").all_inner_texts())


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page(viewport=(1500, 980)) as page:
        page.goto(url + "/explorer")
        page.locator(".morph-grid canvas").first.wait_for(timeout=120_000)
        wait_until(lambda: "Sweep" in status(page), 120, what="running chains")
        wait_until(lambda: "Judge" in status(page), 120, what="the class judge's shares")
        time.sleep(4)
        page.get_by_role("button", name="Flip unit 0").click()
        page.mouse.move(5, 600)
        time.sleep(2.5)
        page.screenshot(path=str(DOCS / "morph.png"))

        page.goto(url + "/explorer?page=models")
        page.locator(".model-headline").first.wait_for(timeout=120_000)
        time.sleep(3)
        page.screenshot(path=str(DOCS / "models.png"))

        page.goto(url + "/explorer?page=train")
        page.get_by_role("button", name="Start").first.wait_for(timeout=120_000)
        page.get_by_role("button", name="Start").first.click()
        page.mouse.move(5, 600)
        time.sleep(12)
        # clicking Start scrolled the page's main area to it: back to the top
        page.evaluate("window.scrollTo(0, 0); document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
        time.sleep(0.5)
        page.screenshot(path=str(DOCS / "train.png"))
        assert page.foreign_requests == [], page.foreign_requests
    print("wrote", ", ".join(str(p.relative_to(ROOT)) for p in sorted(DOCS.glob("*.png"))))


if __name__ == "__main__":
    main()
