"""Frames per second of the Morph page's chain grid and the latency of "flip", measured in the browser.

Setting (issue 5): the Morph page as it opens - 64 chains of the bundled MNIST 0/1 released model (784 x 400) -
served by ``rbm-explorer serve`` on this machine, driven by headless Debian Chromium through Playwright.

* Frame rate: a wrapper of the grid canvas's ``drawImage`` (``browser_support.count_chain_paints``)
  timestamps the animation frame that shows each drawn frame; frames per second = frames / time over
  ``--seconds``.
* Flip latency: a capturing click listener timestamps the click on "Flip unit 0"; an observer of the status
  line's text timestamps the painted frame that first shows the unit's new state, and the first grid frame from then
  on. The status line and the grid are updated by the same server frame. Repeated ``--flips`` times.

Targets: >= 15 frames per second and <= 200 ms. Usage: ``python benchmarks/app_browser.py [--seconds 10]
[--flips 10] [--no-save]``. The last stdout line is a JSON object; a full run saves it under
``benchmarks/results/`` and rewrites the table in README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from browser_support import chromium_page, count_chain_paints, served_app, wait_until  # noqa: E402

PROBE = r"""
() => {
  const B = window.__bench;  // its painted grid frames are counted by browser_support.count_chain_paints
  Object.assign(B, {click: null, statusChanges: [], status: null});
  // the status line: a JSComponent that writes each pushed text into its box (found through shadow roots)
  let box = null;
  const walk = (root) => {
    for (const e of root.querySelectorAll('*')) {
      if (e.classList && e.classList.contains('status-line')) box = e;
      if (e.shadowRoot) walk(e.shadowRoot);
    }
  };
  walk(document);
  // ``frames`` keeps the animation frame's own timestamp, shared by everything painted in that frame, so that
  // the grid and the status line updated by one server message are matched to the same frame
  if (box) new MutationObserver(() => requestAnimationFrame((t) => {
    const m = /Released\s*0:\s*(on|off|free)/.exec(box.textContent);
    const state = m ? m[1] : null;
    if (state !== null && state !== B.status) { B.statusChanges.push([performance.now(), state, t]); B.status = state; }
  })).observe(box, {childList: true, subtree: true, characterData: true});
  window.addEventListener('click', () => { B.click = performance.now(); }, true);
  return [true, !!box];
}
"""


def measure(seconds: float, flips: int) -> dict:
    with served_app() as url, chromium_page() as page:
        page.goto(url)
        page.locator(".morph-grid canvas").first.wait_for(timeout=120_000)
        wait_until(lambda: "Sweep" in " ".join(page.locator(".morph-status p").all_inner_texts()), 120,
                   what="the chains to run")
        time.sleep(3.0)  # past the first frames
        page.evaluate(count_chain_paints("__bench"))
        found = page.evaluate(PROBE)
        assert all(found), f"probe found (grid, status div) = {found}"
        time.sleep(1.0)
        start = page.evaluate("performance.now()")
        time.sleep(seconds)
        changes = np.array(page.evaluate("window.__bench.changes"))
        window = changes[changes >= start]
        fps = (len(window) - 1) / ((window[-1] - window[0]) / 1000) if len(window) > 1 else 0.0
        gaps = np.diff(window)

        page.evaluate("window.__bench.watchStatus = true")
        wait_until(lambda: page.evaluate("window.__bench.status") in ("on", "off"), 30, what="the status line")
        button = page.get_by_role("button", name="Flip unit 0")
        status_ms, frame_ms = [], []
        for _ in range(flips):
            before = page.evaluate("window.__bench.status")
            n_status = page.evaluate("window.__bench.statusChanges.length")
            button.click()
            page.mouse.move(5, 500)
            wait_until(lambda: page.evaluate("window.__bench.statusChanges.length") > n_status, 30,
                       what="the flip to show")
            click = page.evaluate("window.__bench.click")
            when, state, frame_time = page.evaluate(f"window.__bench.statusChanges[{n_status}]")
            assert state != before, (before, state)
            # the first grid frame painted in the same animation frame as the status line or later
            frame = page.evaluate(f"(() => {{ const B = window.__bench; const i = B.frames.findIndex("
                                  f"t => t >= {frame_time}); return i < 0 ? null : B.changes[i]; }})()")
            status_ms.append(when - click)
            frame_ms.append((frame if frame is not None else when) - click)
            time.sleep(1.0)
        assert page.foreign_requests == [], page.foreign_requests
    return {
        "frames_per_second": round(float(fps), 1),
        "frame_interval_ms_median": round(float(np.median(gaps)), 1) if len(gaps) else None,
        "frame_interval_ms_p90": round(float(np.percentile(gaps, 90)), 1) if len(gaps) else None,
        "flip_status_ms": [round(x, 1) for x in status_ms],
        "flip_frame_ms": [round(x, 1) for x in frame_ms],
        "flip_frame_ms_median": round(float(np.median(frame_ms)), 1),
        "flip_frame_ms_max": round(float(np.max(frame_ms)), 1),
        "seconds": seconds,
    }


def session_cpu(seconds: float) -> dict:
    """CPU cost of one Morph session at its default speed, without a browser: the state and its views rendered
    into a Bokeh document, the sampler thread running and ``poll`` called 20 times a second, as the server
    does. Returns the process CPU time (all threads) per wall second, and the median time of one ``poll``."""
    import panel as pn
    from bokeh.document import Document

    from rbm_explorer.app.morph_state import MorphSession
    from rbm_explorer.app.morph_views import MorphPage

    from rbm_explorer.app.shell import limit_blas_threads

    limit_blas_threads()  # as the served app does
    state = MorphSession(n_chains=64, seed=0)
    try:
        pn.panel(MorphPage(state=state)).get_root(Document())
        time.sleep(1.0)
        polls = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - wall0 < seconds:
            t = time.perf_counter()
            state.poll()
            polls.append(time.perf_counter() - t)
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t)))
        cores = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        return {"session_cores": round(cores, 3), "poll_ms_median": round(1000 * float(np.median(polls)), 2),
                "sweeps_per_second": round(state.measured_rate, 1)}
    finally:
        state.close()


def machine() -> dict:
    import numba
    import panel

    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "panel": panel.__version__, "numba": numba.__version__,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def table(result: dict) -> str:
    r = result
    return "\n".join([
        "<!-- app-table:start -->",
        "| measure | value | target |",
        "|---|---|---|",
        f"| chain-grid frames per second (64 chains, 784 x 400) | {r['frames_per_second']} | >= 15 |",
        f"| frame interval, median / 90th percentile | {r['frame_interval_ms_median']} / "
        f"{r['frame_interval_ms_p90']} ms | |",
        f"| click on flip -> first frame showing it, median / max of {len(r['flip_frame_ms'])} | "
        f"{r['flip_frame_ms_median']} / {r['flip_frame_ms_max']} ms | <= 200 ms |",
        f"| server work per frame (`MorphSession.poll` with its views), median | {r['poll_ms_median']} ms | |",
        f"| CPU of one session at the default 40 sweeps/s (sampler thread + 20 frames/s) | "
        f"{r['session_cores']} cores | |",
        "",
        f"Headless Debian Chromium via Playwright; {r['machine']['cores']} cores, Python {r['machine']['python']}, "
        f"Panel {r['machine']['panel']}, numba {r['machine']['numba']}; {r['machine']['date']}.",
        "<!-- app-table:end -->",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flips", type=int, default=10)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    result = measure(args.seconds, args.flips)
    result.update(session_cpu(args.seconds))
    result["machine"] = machine()
    if not args.no_save:
        from report import save_result

        save_result(result, "app_browser", table(result), "<!-- app-table:start -->", "<!-- app-table:end -->",
                    "## The app in the browser (`benchmarks/app_browser.py`)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
