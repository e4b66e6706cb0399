"""The Ising page: its state without a browser (frames, knobs as commands, refused knobs as errors), and the served
page in headless Chromium (the lattice runs, β moves |m|, the algorithm, coupling and size switch and back, a
refused field shows an error and the page keeps working, nothing is loaded from another host)."""

import re
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import DEEP_TEXT, chromium_contexts, chromium_page, served_app, wait_until, watched_page

from rbm_explorer.app.ising_state import COUPLINGS, IsingPageState

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def state():
    s = IsingPageState(seed=1, size=32, sweeps_per_second=2000)
    yield s
    s.close()


def frames_after(state, count, timeout=60):
    start = state.frame

    def advanced():
        state.poll()
        return state.frame >= start + count

    wait_until(advanced, timeout, interval=0.02, what=f"{count} frames")
    return state


def test_poll_publishes_the_lattice_and_its_traces(state):
    frames_after(state, 3)
    assert state.frame_png.startswith(b"\x89PNG") and state.lattice_size == 32
    assert state.sweeps > 0 and "sweep" in state.status
    traces = state.traces
    assert len(traces["sweep"]) == len(traces["energy"]) == len(traces["abs_magnetization"]) > 0


def test_beta_anneals_the_lattice_and_the_size_switches(state):
    state.beta = 0.8
    frames_after(state, 2)
    wait_until(lambda: (state.poll(), state.traces["abs_magnetization"][-1] > 0.9)[1], 60, what="order at β = 0.8")
    assert "beta=0.8" in state.status and "Onsager M" in state.status
    state.beta = 0.2
    wait_until(lambda: (state.poll(), state.traces["abs_magnetization"][-1] < 0.3)[1], 60, what="disorder")
    state.size = 64
    wait_until(lambda: (state.poll(), state.lattice_size == 64)[1], 60, what="the new size")
    assert state.error == ""


def test_a_refused_knob_is_an_error_and_the_lattice_keeps_running(state):
    state.algorithm = "wolff"
    state.field = 0.3
    assert "h = 0" in state.error
    assert state.field == 0.0  # the knob shows what the lattice runs
    before = state.sweeps
    frames_after(state, 3)
    assert state.sweeps > before
    state.algorithm = "metropolis"
    state.field = 0.3
    assert state.error == ""
    state.coupling = next(c for c, J in COUPLINGS.items() if J < 0)
    state.beta = 0.9
    wait_until(lambda: (state.poll(), abs(state.staggered_magnetization) > 0.8)[1], 60,
               what="checkerboard order of the antiferromagnet")


def status_text(page) -> str:
    locator = page.locator(".ising-status")
    return " ".join(locator.nth(k).evaluate(DEEP_TEXT) for k in range(locator.count()))


def reading(page, name):
    match = re.search(rf"{name}\s+([+-][\d.]+)", status_text(page))
    return float(match.group(1)) if match else float("nan")


def sweeps(page) -> int:
    match = re.search(r"sweep\s+([\d,]+)", status_text(page))
    return int(match.group(1).replace(",", "")) if match else -1


def click_option(page, group_class, text):
    page.locator(f".{group_class}").get_by_role("button", name=text, exact=True).click()


@pytest.mark.browser
def test_the_served_ising_page_runs_and_every_knob_switches_and_back():
    ARTIFACTS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page(viewport=(1500, 1000)) as page:
        page.goto(url + "/explorer?page=ising")
        wait_until(lambda: sweeps(page) > 50, 180, what="the lattice running")
        assert page.locator(".ising-lattice canvas").count() == 1
        first = sweeps(page)
        wait_until(lambda: sweeps(page) > first + 50, 60, what="more sweeps")

        handle = page.locator(".ising-beta .noUi-handle").first
        handle.focus()
        handle.press("End")  # β = 1: order
        wait_until(lambda: abs(reading(page, "m")) > 0.9, 90, what="|m| near 1 at β = 1")
        page.screenshot(path=str(ARTIFACTS / "ising_page_ordered.png"))
        handle.press("Home")  # β = 0.1: disorder
        wait_until(lambda: abs(reading(page, "m")) < 0.3, 90, what="|m| near 0 at β = 0.1")

        # every algorithm to every other: metropolis → wolff → hybrid → metropolis → hybrid → wolff → metropolis
        for algorithm in ("wolff", "hybrid", "metropolis", "hybrid", "wolff", "metropolis"):
            click_option(page, "ising-algorithm", algorithm)
            wait_until(lambda: algorithm in status_text(page), 60, what=f"the {algorithm} sampler")
            at = sweeps(page)
            wait_until(lambda: sweeps(page) > at + 5, 60, what=f"{algorithm} sweeping")

        click_option(page, "ising-coupling", "antiferromagnet (J = −1)")
        handle.press("End")
        wait_until(lambda: abs(reading(page, "staggered m")) > 0.9, 90, what="checkerboard order")
        page.screenshot(path=str(ARTIFACTS / "ising_page_antiferromagnet.png"))
        click_option(page, "ising-coupling", "ferromagnet (J = +1)")
        wait_until(lambda: "ferromagnet (J=1)" in status_text(page), 60, what="back to the ferromagnet")

        click_option(page, "ising-algorithm", "wolff")
        field = page.locator(".ising-field .noUi-handle").first
        field.focus()
        field.press("End")  # h = 1 with Wolff: refused
        wait_until(lambda: page.locator(".ising-error").is_visible(), 60, what="the refused field's error")
        at = sweeps(page)
        wait_until(lambda: sweeps(page) > at + 5, 60, what="the lattice still running")
        assert "h=" not in status_text(page)  # the field the lattice refused is not in use, and not shown
        click_option(page, "ising-algorithm", "metropolis")
        wait_until(lambda: not page.locator(".ising-error").is_visible(), 60, what="the error gone")
        field.focus()
        field.press("End")  # the slider went back to 0 with the refusal: h = 1 now, with Metropolis
        wait_until(lambda: "h=1" in status_text(page), 60, what="the field in use")

        page.locator(".ising-size select").select_option("256")
        wait_until(lambda: "256x256" in status_text(page), 60, what="L = 256")
        time.sleep(1)
        page.screenshot(path=str(ARTIFACTS / "ising_page_256.png"))
        for size in ("32", "128", "64"):  # and the other sizes, back to the first
            page.locator(".ising-size select").select_option(size)
            wait_until(lambda: f"{size}x{size}" in status_text(page), 60, what=f"L = {size}")
        assert page.foreign_requests == [] and page.page_errors == []
        assert np.isfinite(reading(page, "m"))


@pytest.mark.browser
def test_two_users_have_lattices_of_their_own():
    with served_app() as url, chromium_contexts(2, viewport=(1500, 1000)) as contexts:
        first, second = two_ising_pages(url, contexts, lambda page: sweeps(page) > 20, "both lattices running")
        handle = first.locator(".ising-beta .noUi-handle").first
        handle.focus()
        handle.press("End")
        wait_until(lambda: "beta=1 " in status_text(first) and abs(reading(first, "m")) > 0.9, 90,
                   what="the first user's lattice ordered")
        click_option(second, "ising-algorithm", "wolff")
        wait_until(lambda: "wolff" in status_text(second), 60, what="the second user's Wolff sampler")
        assert "beta=0.441" in status_text(second) and "metropolis" in status_text(first)
        at = sweeps(second)
        wait_until(lambda: sweeps(second) > at + 20, 60, what="the second lattice still running")
        for page in (first, second):
            assert page.foreign_requests == [] and page.page_errors == []



SWEEP_POINTS_JS = """() => {
  // the points of 'this sweep' that the browser holds, in the |m| panel (its source has a 'point' column)
  let n = 0;
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      const data = model.data;
      if (!data || typeof data !== "object") continue;
      const get = (key) => (data instanceof Map ? data.get(key) : data[key]);
      if (get("point") !== undefined && get("abs_magnetization") !== undefined) n = Math.max(n, get("point").length);
    }
  }
  return n;
}"""


def two_ising_pages(url, contexts, ready, what):
    """Two users' Ising pages, one per browser context, each open until ``ready(page)``."""
    pages = [watched_page(context) for context in contexts]
    for page in pages:
        page.goto(url + "/explorer?page=ising")
    for page in pages:
        wait_until(lambda page=page: ready(page), 180, what=what)
    return pages


def sweep_message(page) -> str:
    return page.locator(".sweep-message").evaluate(DEEP_TEXT)


def sweep_legend(page) -> str:
    return page.locator(".sweep-legend-pane").evaluate(DEEP_TEXT)


def set_sweep_knobs(page, **values):
    """Type the sweep's knobs (sweep-from=..., as class names with '_' for '-') as a person does: fill, Enter."""
    for name, value in values.items():
        box = page.locator(f".{name.replace('_', '-')} input")
        box.fill(str(value))
        box.press("Enter")


@pytest.mark.browser
def test_a_sweep_started_from_the_page_shows_points_is_cancelled_and_keeps_them():
    with served_app() as url, chromium_page(viewport=(1500, 1800)) as page:
        page.goto(url + "/explorer?page=ising")
        wait_until(lambda: sweeps(page) > 20, 180, what="the lattice running")
        page.locator(".sweep-size select").select_option("16")
        set_sweep_knobs(page, sweep_from=0.3, sweep_to=0.6, sweep_points=7, sweep_sweeps=40000)
        page.locator(".sweep-start button").click()
        wait_until(lambda: "sweeping L = 16 over 7 values" in sweep_message(page), 60, what="the sweep started")
        wait_until(lambda: page.evaluate(SWEEP_POINTS_JS) >= 1, 600, interval=1.0, what="a first point plotted")
        page.locator(".sweep-cancel button").click()
        wait_until(lambda: "cancelled" in sweep_message(page), 60, what="the sweep cancelled")
        kept = int(re.search(r"cancelled: (\d+) of 7 points kept", sweep_message(page)).group(1))
        assert 1 <= kept < 7
        time.sleep(2)
        assert page.evaluate(SWEEP_POINTS_JS) == kept  # the points stay on the plots
        page.locator(".ising-sweep").screenshot(path=str(ARTIFACTS / "ising_sweep_cancelled.png"))
        # a new, short sweep runs to the end once the cancelled one is gone
        page.locator(".sweep-size select").select_option("8")
        set_sweep_knobs(page, sweep_points=4, sweep_sweeps=400)
        page.locator(".sweep-start button").click()
        wait_until(lambda: "done: 4 of 4 points" in sweep_message(page), 300, interval=0.5, what="a full sweep")
        wait_until(lambda: page.evaluate(SWEEP_POINTS_JS) == 4, 60, what="its four points plotted")
        page.locator(".ising-sweep").screenshot(path=str(ARTIFACTS / "ising_sweep_done.png"))
        assert page.foreign_requests == [] and page.page_errors == []


@pytest.mark.browser
def test_every_sweep_option_switches_to_every_other_and_back():
    """Each size to each other size (the exact curves follow), the RBM curves off and on around a finished
    sweep (its points stay), and a refused range (β from above β to) named in an error while the page works."""
    with served_app() as url, chromium_page(viewport=(1500, 1800)) as page:
        page.goto(url + "/explorer?page=ising")
        wait_until(lambda: "exact, L = 16" in sweep_legend(page), 120, what="the sweep view")
        sizes = ("8", "16", "32", "64")
        for a in sizes:
            for b in sizes:
                if a == b:
                    continue
                for size in (a, b):
                    page.locator(".sweep-size select").select_option(size)
                    wait_until(lambda size=size: f"exact, L = {size} " in sweep_legend(page), 30,
                               what=f"the exact curves of L = {size}")
        page.locator(".sweep-size select").select_option("8")
        set_sweep_knobs(page, sweep_points=3, sweep_sweeps=200)
        page.locator(".sweep-start button").click()
        wait_until(lambda: "done: 3 of 3 points" in sweep_message(page), 300, interval=0.5, what="a short sweep")
        wait_until(lambda: page.evaluate(SWEEP_POINTS_JS) == 3, 60, what="its points plotted")
        toggle = page.locator(".sweep-show-rbm input")
        assert "RBM unconstrained" in sweep_legend(page)
        for shown in (False, True, False, True):
            toggle.click()
            wait_until(lambda shown=shown: ("RBM unconstrained" in sweep_legend(page)) == shown, 30,
                       what=f"the RBM curves {'shown' if shown else 'hidden'}")
            assert page.evaluate(SWEEP_POINTS_JS) == 3
        set_sweep_knobs(page, sweep_from=0.55, sweep_to=0.5)
        page.locator(".sweep-start button").click()
        wait_until(lambda: "beta from < beta to" in page.locator(".sweep-error").evaluate(DEEP_TEXT), 30,
                   what="the refused range named")
        assert page.evaluate(SWEEP_POINTS_JS) == 3  # the last sweep's points are still there
        set_sweep_knobs(page, sweep_from=0.3, sweep_to=0.6)
        page.locator(".sweep-start button").click()
        wait_until(lambda: "done: 3 of 3 points" in sweep_message(page) and
                   page.evaluate(SWEEP_POINTS_JS) == 3, 300, interval=0.5, what="a sweep after the refusal")
        assert page.foreign_requests == [] and page.page_errors == []


@pytest.mark.browser
def test_two_users_run_sweeps_of_their_own():
    """Two users start sweeps at once; one cancels, the other's runs to the end, and neither sees the other's."""
    with served_app() as url, chromium_contexts(2, viewport=(1500, 1800)) as contexts:
        first, second = two_ising_pages(url, contexts, lambda page: "exact, L = 16" in sweep_legend(page),
                                        "both sweep views")
        first.locator(".sweep-size select").select_option("16")
        set_sweep_knobs(first, sweep_points=5, sweep_sweeps=100000)
        second.locator(".sweep-size select").select_option("8")
        set_sweep_knobs(second, sweep_points=4, sweep_sweeps=400)
        for page in (first, second):
            page.locator(".sweep-start button").click()
        wait_until(lambda: "sweeping L = 16 over 5 values" in sweep_message(first), 60, what="the first sweep")
        wait_until(lambda: "done: 4 of 4 points" in sweep_message(second), 600, interval=0.5,
                   what="the second user's sweep done beside the first")
        assert second.evaluate(SWEEP_POINTS_JS) == 4
        # forced, so a click on the button a finished sweep has disabled is a no-op rather than a wait for it
        first.locator(".sweep-cancel button").click(force=True)
        wait_until(lambda: re.search(r"(cancelled: \d+|done: 5) of 5 points", sweep_message(first)), 60,
                   what="the first sweep stopped")
        # each page shows its own sweep: the first its own count of L = 16 points, the second its 4 at L = 8
        kept = int(re.search(r"(?:cancelled|done): (\d+) of 5", sweep_message(first)).group(1))
        assert first.evaluate(SWEEP_POINTS_JS) == kept and second.evaluate(SWEEP_POINTS_JS) == 4
        assert "exact, L = 16 " in sweep_legend(first) and "exact, L = 8 " in sweep_legend(second)
        assert "done: 4 of 4 points" in sweep_message(second)  # the first user's cancel did not touch it
        for page in (first, second):
            assert page.foreign_requests == [] and page.page_errors == []
