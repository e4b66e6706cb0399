"""The sampling kernels may run on several threads, by blocks of chains (``rbm_explorer.sampling.kernel_threads``).
The chains must not depend on that: the same seed gives the same states bit for bit with 1, 2 or 3 kernel
threads, for every unit kind, also when several engines step at once from several Python threads."""

import threading

import numpy as np
import pytest
from conftest import tiny_rbm

from rbm_explorer.sampling import GibbsEngine, kernel_threads

# (visible, hidden, label classes): binary, spin, Potts and Gaussian units, and a labelled model
LAYOUTS = [("binary", "binary", 0), ("spin", "spin", 0), ("potts", "binary", 0), ("binary", "gaussian", 0),
           ("potts", "spin", 3)]
CHAINS = 101  # not a multiple of 2 or 3: blocks of different sizes


@pytest.fixture
def small_blocks(monkeypatch):
    """Split even these small models into blocks (the threshold guards against splitting tiny work)."""
    monkeypatch.setattr(kernel_threads, "MIN_ELEMENTS_PER_BLOCK", 1)


def run(rbm, threads, steps=30, seed=11, calls=None):
    """An engine stepped ``steps`` times with ``threads`` kernel threads (its construction, which samples the
    hidden units once, uses the default); ``calls``, if given, is emptied before stepping."""
    engine = GibbsEngine(rbm, CHAINS, seed=seed)
    engine.kernel_threads = threads
    if calls is not None:
        calls.clear()
    engine.clamp("h", [0], [rbm.hidden.high if hasattr(rbm.hidden, "high") else 0.5])
    engine.step(steps)
    return engine


def states(engine):
    st = engine.state
    label = None if st.label is None else st.label.copy()
    return st.v.copy(), st.h.copy(), label, st.counters.copy()


def assert_same(a, b):
    for x, y in zip(a, b):
        if x is None:
            assert y is None
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("visible,hidden,labels", LAYOUTS, ids=["-".join(map(str, x)) for x in LAYOUTS])
def test_the_same_seed_gives_the_same_chains_with_1_2_or_3_kernel_threads(visible, hidden, labels, small_blocks,
                                                                          monkeypatch):
    rbm = tiny_rbm(visible, hidden, seed=3, n_hidden=5, label_classes=labels)
    calls = []
    original = kernel_threads.run_row_blocks

    def spy(func, n_rows, n_elements, threads):
        calls.append(len(kernel_threads.block_bounds(n_rows, n_elements, threads)) - 1)
        return original(func, n_rows, n_elements, threads)

    monkeypatch.setattr("rbm_explorer.sampling.gibbs.run_row_blocks", spy)
    serial = states(run(rbm, 1, calls=calls))
    assert calls == []  # one thread: the plain serial kernel
    for threads in (2, 3):
        assert_same(states(run(rbm, threads, calls=calls)), serial)
        assert calls and set(calls) == {threads}, "the kernels were not split"


def test_a_large_model_splits_by_default_as_the_blas_threads_allow():
    """No threshold override: 512 chains x 784 units are split on 2 threads; results equal the serial run."""
    rbm = tiny_rbm("binary", "binary", seed=6, n_visible=784, n_hidden=100, weight_scale=0.05)
    assert len(kernel_threads.block_bounds(512, 512 * 784, 2)) == 3
    outputs = []
    for threads in (1, 2):
        engine = GibbsEngine(rbm, 512, seed=9)
        engine.kernel_threads = threads
        engine.step(10)
        outputs.append(states(engine))
    assert_same(outputs[0], outputs[1])


def test_engines_stepping_at_once_in_several_threads_match_their_serial_runs(small_blocks):
    """Four sessions step their own engines at the same time, each splitting its kernels over 2 threads and
    sharing the helpers. Every engine ends where it ends alone and serially, and nobody deadlocks."""
    rbms = [tiny_rbm(v, h, seed=20 + i, n_hidden=5) for i, (v, h, _) in enumerate(LAYOUTS[:4])]
    expected = [states(run(rbm, 1, steps=200, seed=i)) for i, rbm in enumerate(rbms)]
    results = [None] * len(rbms)
    start = threading.Barrier(len(rbms))

    def session(i):
        start.wait()
        results[i] = states(run(rbms[i], 2, steps=200, seed=i))

    workers = [threading.Thread(target=session, args=(i,)) for i in range(len(rbms))]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "a session is stuck"
    for got, want in zip(results, expected):
        assert_same(got, want)


def test_an_error_in_a_helper_block_reaches_the_caller():
    seen = []

    def rows(start, stop):
        seen.append((start, stop))
        if start > 0:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        kernel_threads.run_row_blocks(rows, 10, 10 * kernel_threads.MIN_ELEMENTS_PER_BLOCK, 2)
    assert sorted(seen) == [(0, 5), (5, 10)]


def test_the_default_follows_the_blas_thread_limit_and_the_setting():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        assert kernel_threads.threads_for() == 1
        assert kernel_threads.threads_for(2) == 2  # an engine's own setting wins
    kernel_threads.set_kernel_threads(3)
    try:
        assert kernel_threads.threads_for() == 3
    finally:
        kernel_threads.set_kernel_threads(None)
    with pytest.raises(ValueError):
        kernel_threads.set_kernel_threads(0)


def test_small_work_is_not_split():
    assert kernel_threads.block_bounds(64, 64 * 100, 2) == [0, 64]
    assert kernel_threads.block_bounds(1, 10**6, 4) == [0, 1]
    assert kernel_threads.block_bounds(7, 7 * kernel_threads.MIN_ELEMENTS_PER_BLOCK, 3) == [0, 2, 4, 7]
