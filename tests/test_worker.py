"""The background sampler: control, atomic commands, snapshots, traces, thread lifetime and the GIL."""

import threading
import time

import numpy as np
import pytest
from browser_support import wait_until
from conftest import tiny_rbm

from rbm_explorer._kernels import sample_gaussian_into, seed_chain_states
from rbm_explorer.layers import Binary, Spin
from rbm_explorer.rbm import RBM
from rbm_explorer.sampling import GibbsEngine, SamplerWorker


def ising_toy(n=64, w_star=0.5):
    return RBM(Spin(np.zeros(n)), Spin(np.zeros(1)), np.full((n, 1), w_star))


def sampler_threads():
    return [t for t in threading.enumerate() if t.name.startswith("rbm-sampler")]


def test_start_pause_resume_stop():
    with SamplerWorker(GibbsEngine(ising_toy(), 8, seed=0)) as worker:
        assert worker.snapshot().steps == 0 and not worker.running
        worker.start()
        worker.wait_for_steps(50)
        worker.pause()
        wait_until(lambda: not worker.snapshot().running, 5, what="a paused snapshot")
        paused_at = worker.snapshot().steps
        time.sleep(0.3)
        assert worker.snapshot().steps == paused_at
        worker.resume()
        worker.wait_for_steps(paused_at + 50)
    assert not worker.alive


def test_target_rate_is_met():
    with SamplerWorker(GibbsEngine(ising_toy(), 4, seed=0), steps_per_second=40).start() as worker:
        worker.wait_for_steps(5)
        s0, t0 = worker.snapshot().steps, time.monotonic()
        time.sleep(1.5)
        rate = (worker.snapshot().steps - s0) / (time.monotonic() - t0)
    assert 25 < rate < 55, rate


def test_clamp_and_flip_set_the_sign_of_the_magnetization():
    with SamplerWorker(GibbsEngine(ising_toy(n=400), 16, seed=1)).start() as worker:
        worker.clamp_hidden([0], [-1])
        worker.wait_for_steps(worker.snapshot().steps + 20)
        snap = worker.snapshot()
        assert np.all(snap.h[:, 0] == -1) and np.all(snap.v.mean(axis=1) < -0.2)
        worker.flip_hidden(0)
        worker.wait_for_steps(snap.steps + 40)
        snap = worker.snapshot()
        assert np.all(snap.h[:, 0] == 1) and np.all(snap.v.mean(axis=1) > 0.2)
        assert snap.clamped_h[0].tolist() == [1.0] * 16


def test_commands_land_between_steps():
    """Every published snapshot after a clamp shows it on every chain: never half-applied."""
    rbm = tiny_rbm("binary", "binary", seed=3, n_visible=50, n_hidden=20)
    with SamplerWorker(GibbsEngine(rbm, 32, seed=2), publish_hz=1000).start() as worker:
        worker.wait_for_steps(10)
        for value in (1.0, 0.0, 1.0, 0.0):
            applied = worker.snapshot().commands
            worker.clamp_hidden(list(range(20)), [value] * 20)
            # the first snapshot that counts the command, and every later one, shows it on every chain
            first = worker.runner.wait_until(lambda snap: snap.commands > applied, 30, what="the clamp")
            worker.wait_for_steps(first.steps + 3)
            for _ in range(20):
                snap = worker.snapshot()
                assert snap.commands > applied and np.all(snap.h == value)
                time.sleep(0.002)
            assert np.all(first.h == value)


def test_a_command_shows_in_the_next_sweep_whatever_the_target_rate():
    """At one sweep every 5 s, a clamp is followed by a sweep and a snapshot at once, not at the next slot of
    the schedule; ``commands`` counts the applied commands so that a viewer can tell (the Morph page sends
    that frame without waiting for its frame clock)."""
    with SamplerWorker(GibbsEngine(ising_toy(n=100), 8, seed=0), steps_per_second=0.2).start() as worker:
        worker.wait_for_steps(1, timeout=30)
        before = worker.snapshot()
        time.sleep(0.5)  # inside the 5 s wait for the next scheduled sweep
        worker.clamp_hidden([0], [1])
        wait_until(lambda: worker.snapshot().commands == before.commands + 1, 2.5,
                   what="the command's snapshot well before the next scheduled sweep")
        snap = worker.snapshot()
        assert snap.steps == before.steps + 1 and np.all(snap.h[:, 0] == 1)
        assert snap.v.mean() > 0  # this sweep's visibles were drawn with the unit clamped high


def test_reinitialize_from_data_and_noise():
    rbm = ising_toy(n=100, w_star=0.01)
    worker = SamplerWorker(GibbsEngine(rbm, 4, seed=0))
    worker.reinitialize(np.ones((1, 100)))
    assert np.all(worker.snapshot().v == 1)
    worker.reinitialize(None)
    # uniform noise: the fraction of +1 among 400 spins is 0.5 within 5 standard errors (0.125)
    assert abs((worker.snapshot().v == 1).mean() - 0.5) < 0.125
    worker.stop()


def test_bad_commands_are_refused_with_clear_errors():
    worker = SamplerWorker(GibbsEngine(ising_toy(), 2, seed=0))
    with pytest.raises(ValueError, match="spin units take the values -1 and 1, got \\[0.5\\]"):
        worker.clamp_hidden([0], [0.5])
    with pytest.raises(ValueError, match="hidden unit 5 out of range 0..0"):
        worker.flip_hidden(5)
    with pytest.raises(ValueError, match="beta must be a positive finite number"):
        worker.set_beta(float("nan"))
    with pytest.raises(ValueError, match="steps_per_second must be positive"):
        worker.steps_per_second = -3
    worker.stop()


def test_a_failing_command_is_reported_and_the_thread_survives():
    with SamplerWorker(GibbsEngine(ising_toy(), 2, seed=0)).start() as worker:
        worker.clamp("v", [99], [1.0])  # unit out of range: fails inside the thread
        wait_until(lambda: worker.snapshot().error, 10, what="the error to be published")
        assert "v unit index out of range 0..63: [99]" in worker.snapshot().error
        n = worker.snapshot().steps
        worker.wait_for_steps(n + 20)


def test_traces_record_energy_free_energy_and_inputs():
    rbm = tiny_rbm("spin", "binary", seed=4)
    with SamplerWorker(GibbsEngine(rbm, 5, seed=0), watched_units=[0, 2], trace_length=50).start() as worker:
        worker.wait_for_steps(120)
        worker.pause()
        time.sleep(0.1)
        snap = worker.snapshot()
    assert snap.energy.shape == (50, 5) and snap.watched_inputs.shape == (50, 5, 2)
    assert np.all(np.diff(snap.trace_steps) == 1)
    # F(v) = -log sum_h exp(-E(v, h)) <= E(v, h) for every h: the traced pairs obey it
    assert np.all(snap.free_energy <= snap.energy + 1e-4)


def test_traced_free_energy_is_the_models():
    rbm = tiny_rbm("spin", "spin", seed=5)
    engine = GibbsEngine(rbm, 6, seed=1)
    worker = SamplerWorker(engine, watched_units=[1], trace_length=10)
    worker.start()
    worker.wait_for_steps(30)
    worker.pause()
    time.sleep(0.2)
    worker.stop()
    snap = worker.snapshot()
    v = engine.visible_states()
    np.testing.assert_allclose(snap.free_energy[-1], rbm.free_energy_v(v), rtol=1e-5)
    np.testing.assert_allclose(snap.energy[-1], rbm.energy(v, engine.hidden_states()), rtol=1e-5)
    np.testing.assert_allclose(snap.watched_inputs[-1][:, 0], rbm.inputs_h_from_v(v)[:, 1], rtol=1e-5, atol=1e-6)


def test_no_thread_outlives_its_sampler():
    before = len(sampler_threads())
    workers = [SamplerWorker(GibbsEngine(ising_toy(), 4, seed=i)).start() for i in range(5)]
    for worker in workers:
        worker.wait_for_steps(5)
    assert len(sampler_threads()) == before + 5
    for worker in workers:
        worker.stop()
    assert len(sampler_threads()) == before
    assert not any(w.alive for w in workers)
    with pytest.raises(RuntimeError, match="has been stopped"):
        workers[0].start()


def longest_tick_gap(duration: float) -> float:
    """Longest gap between successive 1 ms sleeps of this thread over ``duration`` seconds."""
    gaps, last = [], time.perf_counter()
    end = last + duration
    while last < end:
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    return max(gaps)


@pytest.mark.slow
def test_main_thread_stays_responsive_while_the_sampler_runs_second_long_steps():
    """The chain count is scaled so that one sweep takes about a second; while the worker runs such sweeps,
    the main thread's longest gap between 1 ms ticks stays far below one sweep (< 200 ms)."""
    rng = np.random.default_rng(0)
    n, m = 4096, 1500
    rbm = RBM(Binary(np.zeros(n)), Binary(np.zeros(m)), 0.01 * rng.standard_normal((n, m)))
    probe = GibbsEngine(rbm, 500, seed=0)
    probe.step(1)
    t0 = time.perf_counter()
    probe.step(1)
    chains = int(np.clip(500 / (time.perf_counter() - t0), 500, 8000))
    engine = GibbsEngine(rbm, chains, seed=0)
    t0 = time.perf_counter()
    engine.step(1)
    sweep = time.perf_counter() - t0
    with SamplerWorker(engine, trace_length=0).start() as worker:
        gap = longest_tick_gap(max(3.0, 3 * sweep))
        steps = worker.snapshot().steps
    assert steps >= 1 and sweep > 0.4, f"{chains} chains: a sweep took {sweep:.2f} s"
    assert gap < 0.2, f"main thread blocked for {gap * 1000:.0f} ms (one sweep takes {sweep * 1000:.0f} ms)"


KERNELS = ["sample_two_state_into", "sample_categorical_into", "sample_gaussian_into"]


@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_is_compiled_nogil_and_cached(name):
    import rbm_explorer._kernels as kernels

    kernel = getattr(kernels, name)
    assert kernel.targetoptions.get("nogil") is True
    assert type(kernel._cache).__name__ != "NullCache", "compiled without cache=True"
    assert not kernel.targetoptions.get("parallel"), "kernels are serial by design (benchmarks/README.md)"


def gap_while_running(kernel, args) -> tuple[float, float]:
    """(longest main-thread gap, duration of one kernel call) while a thread calls ``kernel`` repeatedly."""
    t0 = time.perf_counter()
    kernel(*args)
    call = time.perf_counter() - t0
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            kernel(*args)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        gap = longest_tick_gap(max(1.5, 3 * call))
    finally:
        stop.set()
        thread.join()
    return gap, call


def test_a_half_second_kernel_call_does_not_block_the_main_thread():
    """Calls of the Gaussian kernel sized to take about half a second each. While a thread makes such calls,
    the main thread's longest gap stays under 200 ms. The same function compiled without ``nogil`` blocks it
    for a whole call, which shows the measurement can fail."""
    import numba

    rng = np.random.default_rng(0)

    def kernel_args(rows):
        inputs = np.zeros((rows, 5000), np.float32)
        return (inputs, np.zeros(5000, np.float32), np.float32(1.0), seed_chain_states(rows, rng),
                np.empty_like(inputs))

    probe = kernel_args(500)
    sample_gaussian_into(*probe)
    t0 = time.perf_counter()
    sample_gaussian_into(*probe)
    per_row = (time.perf_counter() - t0) / 500
    args = kernel_args(int(np.clip(0.5 / per_row, 1000, 16000)))  # calls of about half a second
    gap, call = gap_while_running(sample_gaussian_into, args)
    assert call > 0.25, f"the kernel call took only {call:.2f} s; the test needs longer calls"
    assert gap < 0.2, f"main thread blocked for {gap * 1000:.0f} ms by a {call * 1000:.0f} ms kernel call"

    holding = numba.njit(nogil=False)(sample_gaussian_into.py_func)
    holding(*probe)
    gap_holding, _ = gap_while_running(holding, args)
    assert gap_holding > 0.2, f"a GIL-holding kernel should block the main thread, gap {gap_holding * 1000:.0f} ms"
