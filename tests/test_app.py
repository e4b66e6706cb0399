"""The first app page, used the way a person uses it: served, then driven in headless Chromium.

Screenshots go to ``test-artifacts/`` at the repository root.
"""

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import chromium_page, free_port, served_app, wait_until

from rbm_explorer.app.chain_state import ChainSession
from rbm_explorer.pictures import tile_chains
from rbm_explorer.resources import bundled_model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def sampler_threads():
    return [t for t in threading.enumerate() if t.name.startswith("rbm-sampler")]


def test_tile_chains_lays_out_a_grid_with_gaps():
    v = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    grid = tile_chains(v, (2, 2), columns=2)
    assert grid.shape == (5, 5)
    np.testing.assert_array_equal(grid[:2, :2], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(grid[3:, :2], [[8, 9], [10, 11]])
    assert np.isnan(grid[2]).all() and np.isnan(grid[3:, 3:]).all()


def test_session_state_publishes_snapshots_and_stops_its_thread():
    before = len(sampler_threads())
    state = ChainSession.from_file(bundled_model("ising32_single_hidden"), n_chains=4, seed=0)
    state.steps_per_second = 500
    state.running = True
    wait_until(lambda: (state.poll(), state.steps)[1] > 20, 30, what="published steps")
    assert state.mosaic.shape == (32, 4 * 33 - 1)
    state.clamp_low()
    target = state.steps + 20
    wait_until(lambda: (state.poll(), state.steps)[1] > target, 30, what="steps after clamping")
    assert state.clamp_text == "clamped to -1" and np.all(state.worker.snapshot().h[:, 0] == -1)
    assert np.all(state.magnetization[-1] < 0)
    assert len(sampler_threads()) == before + 1
    state.close()
    assert len(sampler_threads()) == before


def status_text(page) -> str:
    """The status pane's text (its content lives in a shadow root, which CSS descendant locators pierce)."""
    return page.locator(".chain-status p").first.inner_text()


def status_number(page, label):
    text = status_text(page)
    m = re.search(rf"{label}:\s*([\d,]+)", text)
    return int(m.group(1).replace(",", "")) if m else -1


@pytest.mark.browser
def test_served_page_runs_clamps_flips_and_stays_offline():
    ARTIFACTS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page() as page:
        page.goto(url + "/gibbs_chains")
        page.get_by_role("button", name="Run / pause").wait_for(timeout=60_000)
        page.get_by_role("button", name="Run / pause").click()
        wait_until(lambda: status_number(page, "Sweeps") > 30, 60, what="sweeps to run")
        page.get_by_role("button", name="Clamp to -1").click()
        wait_until(lambda: "clamped to -1" in status_text(page), 30, what="the clamp")
        page.screenshot(path=str(ARTIFACTS / "chains_clamped_minus.png"))
        page.get_by_role("button", name="Flip hidden unit 0").click()
        wait_until(lambda: "clamped to +1" in status_text(page), 30, what="the flip")
        before = status_number(page, "Sweeps")
        wait_until(lambda: status_number(page, "Sweeps") > before + 30, 60, what="sweeps after the flip")
        page.screenshot(path=str(ARTIFACTS / "chains_flipped_plus.png"))
        page.get_by_role("button", name="Run / pause").click()
        # The page shows a rate of 0 once the server has seen the pause and the sampler has published a paused
        # snapshot; on a loaded machine that can take longer than a fixed sleep, so poll for it.
        wait_until(lambda: re.search(r"Rate:\s*0 sweeps/s", status_text(page)), 60, what="the pause to reach the page")
        paused = status_number(page, "Sweeps")
        time.sleep(1.5)
        assert status_number(page, "Sweeps") == paused
        assert page.foreign_requests == [], f"requests to other hosts: {page.foreign_requests}"
        assert page.page_errors == [], page.page_errors


@pytest.mark.browser
def test_closing_the_page_stops_the_session_thread():
    """Served in this process, so the test can see the sampler threads; Bokeh discards the closed session
    after the configured idle time and the page's clean-up joins the thread."""
    import panel as pn

    from rbm_explorer.app.chain_page import build_chain_page

    before = len(sampler_threads())
    port = free_port()
    # The lifetime must outlast the page's connection: a session discarded between the HTML request and the
    # websocket (500 ms was too short on a loaded machine) is remade without its request, and Panel then
    # points its stylesheets at the CDN.
    server = pn.serve({"chains": build_chain_page}, port=port, show=False, threaded=True, verbose=False,
                      check_unused_sessions_milliseconds=500, unused_session_lifetime_milliseconds=5000)
    try:
        wait_until(lambda: getattr(server, "server", None) is not None or True, 5)
        with chromium_page() as page:
            page.goto(f"http://localhost:{port}/chains")
            page.get_by_role("button", name="Run / pause").wait_for(timeout=60_000)
            page.get_by_role("button", name="Run / pause").click()
            wait_until(lambda: status_number(page, "Sweeps") > 10, 60, what="sweeps to run")
            assert len(sampler_threads()) == before + 1
            assert page.foreign_requests == []
        wait_until(lambda: len(sampler_threads()) == before, 60, what="the session's sampler thread to stop")
    finally:
        server.stop()
