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
    """Split even these small models, in claims of a row or two (the thresholds guard against splitting
    tiny work)."""
    monkeypatch.setattr(kernel_threads, "MIN_UNITS_TO_SPLIT", 1)
    monkeypatch.setattr(kernel_threads, "UNITS_PER_CLAIM", 8)


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
    original = kernel_threads.run_claimed

    def spy(kernel, args, n_rows, units_per_row, threads):
        calls.append(original(kernel, args, n_rows, units_per_row, threads))
        return calls[-1]

    monkeypatch.setattr(kernel_threads, "run_claimed", spy)
    serial = states(run(rbm, 1, calls=calls))
    assert calls == []  # one thread: the layers' own serial kernels
    for threads in (2, 3):
        assert_same(states(run(rbm, threads, calls=calls)), serial)
        assert calls and set(calls) == {threads}, "the kernels were not offered to the helpers"


def test_a_large_model_splits_by_default_as_the_blas_threads_allow():
    """No threshold override: 512 chains x 784 units go to 2 threads; the chains equal the serial run."""
    rbm = tiny_rbm("binary", "binary", seed=6, n_visible=784, n_hidden=100, weight_scale=0.05)
    assert kernel_threads.worth_splitting(512, 784, 2) and not kernel_threads.worth_splitting(512, 784, 1)
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


def test_the_caller_finishes_alone_when_no_helper_comes(small_blocks, monkeypatch):
    """Helpers busy elsewhere (here: never handed the job): the caller claims every row itself."""
    rbm = tiny_rbm("spin", "binary", seed=4, n_hidden=5)
    serial = states(run(rbm, 1))
    monkeypatch.setattr(kernel_threads._helpers, "dispatch", lambda *args: None)
    assert_same(states(run(rbm, 2)), serial)


def test_a_helper_coming_late_finds_nothing_to_do():
    """A job whose rows are all claimed: a late helper's kernel call returns at once and samples nothing."""
    from rbm_explorer._kernels.sampling import sample_two_state_claimed

    inputs = np.zeros((4, 3), np.float32)
    out = np.full_like(inputs, 7.0)
    work = np.array([4, 4], np.int64)
    one, zero = np.float32(1), np.float32(0)
    assert sample_two_state_claimed(inputs, np.zeros(3, np.float32), one, zero, one, np.zeros(4, np.uint64),
                                    out, work, 1) == 0
    assert (out == 7.0).all() and work[1] == 4


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
    assert not kernel_threads.worth_splitting(64, 100, 2)
    assert not kernel_threads.worth_splitting(1, 10**6, 4)
    assert kernel_threads.worth_splitting(64, 784, 2)
    assert kernel_threads.claim_size(784) >= 1 and kernel_threads.claim_size(10**6) == 1
