"""The pieces the pages are built from, without a browser: the tiled picture of the chains, and a sampler
whose snapshots a page publishes (the pages themselves are driven in Chromium by test_explorer.py)."""

import threading

import numpy as np
from browser_support import wait_until

from rbm_explorer.io import load_model
from rbm_explorer.pictures import image_shape_of, tile_chains
from rbm_explorer.resources import bundled_model
from rbm_explorer.sampling import GibbsEngine, SamplerWorker
from rbm_explorer.live import shared_pool


def sampler_threads():
    """The live samplers of this process: threads of workers started on their own, and pool tasks of the
    app's sessions."""
    return ([t for t in threading.enumerate() if t.name.startswith("rbm-sampler")]
            + [n for n in shared_pool().runner_names() if n.startswith("rbm-sampler")])


def test_tile_chains_lays_out_a_grid_with_gaps():
    v = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    grid = tile_chains(v, (2, 2), columns=2)
    assert grid.shape == (5, 5)
    np.testing.assert_array_equal(grid[:2, :2], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(grid[3:, :2], [[8, 9], [10, 11]])
    assert np.isnan(grid[2]).all() and np.isnan(grid[3:, 3:]).all()


def test_sampler_snapshots_tile_into_a_mosaic_follow_a_clamp_and_the_thread_stops():
    """What a page does with a sampler: tile its snapshots, clamp a hidden unit, and stop its thread."""
    model = load_model(bundled_model("ising32_single_hidden"))
    before = len(sampler_threads())
    worker = SamplerWorker(GibbsEngine(model.rbm, 4, seed=0), steps_per_second=500, watched_units=[0],
                           trace_length=400, trace_chains=4)
    try:
        worker.start()
        wait_until(lambda: worker.snapshot().steps > 20, 30, what="published steps")
        snap = worker.snapshot()
        mosaic = tile_chains(snap.v.astype(np.float32), image_shape_of(model), 4)
        assert mosaic.shape == (32, 4 * 33 - 1)
        assert len(sampler_threads()) == before + 1
        worker.clamp_hidden([0], [-1.0])
        # wait for a snapshot that counts the clamp, then for sweeps made under it
        wait_until(lambda: 0 in worker.snapshot().clamped_h, 30, what="the clamp")
        target = worker.snapshot().steps + 20
        wait_until(lambda: worker.snapshot().steps > target, 30, what="steps after clamping")
        snap = worker.snapshot()
        assert np.all(snap.h[:, 0] == -1) and np.all(snap.visible_mean[-1] < 0)
    finally:
        worker.stop()
    assert len(sampler_threads()) == before
