"""The Ising page's sweep view, at the level of its state: a sweep on the process-wide Dask client shows its
points as they finish, refuses a second sweep, cancels keeping its points, and publishes the references."""

import time

import numpy as np
import pytest

from rbm_explorer.app.ising_sweep_state import IsingSweepState
from rbm_explorer.ising import exact


def poll_until(state, condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state.poll()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out; message {state.message!r}, error {state.error!r}")


def test_a_sweep_publishes_its_points_and_a_second_one_is_refused():
    state = IsingSweepState(sweep_size=8, beta_from=0.3, beta_to=0.6, points=4, sweeps=400)
    state.start()
    assert state.sweep_running and state.error == ""
    state.start()
    assert "already running" in state.error
    poll_until(state, lambda: not state.sweep_running)
    assert [r["beta"] for r in state.rows] == pytest.approx([0.3, 0.4, 0.5, 0.6])
    assert state.progress == 1 and state.message.startswith("done: 4 of 4 points")
    m = [r["abs_magnetization"] for r in state.rows]
    assert m == sorted(m) and m[0] < 0.5 < m[-1]  # disordered at 0.3, ordered at 0.6 on an 8 x 8 torus
    state.start()  # a finished sweep does not block the next
    assert state.sweep_running and state.error == ""
    state.close()


def test_cancel_keeps_the_finished_points_and_stops_the_rest():
    state = IsingSweepState(sweep_size=16, beta_from=0.3, beta_to=0.6, points=8, sweeps=60_000)
    state.start()
    poll_until(state, lambda: len(state.rows) >= 1, timeout=300)
    state.cancel()
    kept = list(state.rows)
    assert not state.sweep_running and 1 <= len(kept) < 8 and "cancelled" in state.message
    time.sleep(0.5)
    state.poll()
    assert state.rows == kept


def test_exact_references_follow_the_knobs_and_bad_ranges_are_refused():
    state = IsingSweepState(sweep_size=32)
    ref = state.exact
    assert ref["L"] == 32
    np.testing.assert_allclose(ref["heat_capacity"], exact.torus_heat_capacity(32, ref["beta"]))
    state.sweep_size = 16
    assert state.exact["L"] == 16
    state.param.update(beta_from=0.5, beta_to=0.4)
    state.start()
    assert "beta from < beta to" in state.error and not state.sweep_running
