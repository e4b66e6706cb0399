"""The shared pool (rbm_explorer.live.pool): a few workers serve many runners in weighted fair shares, a
sleeping or parked runner costs nothing, nobody is refused, and an ended runner leaves no task behind.

The steps here sleep instead of computing, so that a step's length does not depend on the machine's load:
a worker is busy for the whole step either way, which is what the scheduler accounts for."""

import time

import pytest
from browser_support import wait_until

from rbm_explorer.live import Runner
from rbm_explorer.live.pool import SharedPool


class Sleeper:
    """A step is ``seconds`` of a worker's time."""

    def __init__(self, seconds=0.002):
        self.seconds = seconds
        self.steps = 0
        self.closed = 0

    def step(self):
        time.sleep(self.seconds)
        self.steps += 1

    def snapshot(self, status):
        return {"steps": self.steps, "running": status.running, "commands": status.commands}

    def close(self):
        self.closed += 1

    def bump(self):
        self.steps += 1000
        return self.steps


@pytest.fixture
def pool():
    pool = SharedPool(workers=1, name="rbm-test-pool")
    yield pool
    pool.shutdown()


def runner_with_share(computation, share, pool, **options):
    runner = Runner(computation, policy=pool, **options)
    runner.share = share
    return runner


def test_busy_runners_get_steps_in_proportion_to_their_shares(pool):
    """One worker, three runners flat out with shares 1, 1 and 2: over 1.5 s their steps are in the ratio
    1 : 1 : 2. Each step is 2 ms of the worker, so about 750 steps are shared out; a tick's accounting is
    exact, and only the runners' last unfinished turns blur the ratio (a few steps of 190 or more)."""
    sleepers = [Sleeper(), Sleeper(), Sleeper()]
    runners = [runner_with_share(c, share, pool) for c, share in zip(sleepers, (1.0, 1.0, 2.0))]
    for r in runners:
        r.start()
    time.sleep(1.5)
    for r in runners:
        r.pause()
    steps = [c.steps for c in sleepers]
    for r in runners:
        assert r.stop()
    total = sum(steps)
    assert total > 100, steps
    expected = [total / 4, total / 4, total / 2]
    for got, want in zip(steps, expected):
        assert abs(got - want) <= 0.1 * want + 3, (steps, expected)


def test_a_runner_at_its_own_rate_leaves_the_rest_to_the_others(pool):
    """A runner capped at 50 steps/s gets its 50 next to a runner flat out; the flat-out one gets the rest."""
    capped, greedy = Sleeper(), Sleeper()
    a = Runner(capped, steps_per_second=50, policy=pool).start()
    b = Runner(greedy, policy=pool).start()
    time.sleep(1.0)
    a.pause(), b.pause()
    assert 35 <= capped.steps <= 60, capped.steps
    assert greedy.steps >= 200, greedy.steps  # 1 s of a worker at 2 ms a step is 500; the cap left most of it
    assert a.stop() and b.stop()


def test_a_paused_runner_is_parked_and_costs_no_ticks(pool):
    sleeper = Sleeper()
    runner = Runner(sleeper, policy=pool).start()
    wait_until(lambda: sleeper.steps > 20, 30, what="steps")
    runner.pause()
    wait_until(lambda: pool.counts()["parked"] == 1, 30, what="the paused runner to be parked")
    task = next(iter(pool._tasks.values()))
    ticks, steps = task.ticks, sleeper.steps
    time.sleep(0.3)
    assert (task.ticks, sleeper.steps) == (ticks, steps)
    assert runner.call(Sleeper.bump) == steps + 1000  # a command wakes it, and it parks again
    wait_until(lambda: pool.counts()["parked"] == 1, 30, what="parked again")
    runner.start()
    wait_until(lambda: sleeper.steps > steps + 1020, 30, what="the resumed steps")
    assert runner.stop() and sleeper.closed == 1
    wait_until(lambda: pool.tasks == 0, 30, what="the ended runner's task to go")


def test_many_more_runners_than_workers_all_progress_and_leave_nothing_behind():
    """Thirty runners on two workers: every one steps (no refusal, no starvation); after they stop, the pool
    serves no task, and every ``close`` ran once."""
    pool = SharedPool(workers=2, name="rbm-test-pool")
    try:
        sleepers = [Sleeper(0.001) for _ in range(30)]
        runners = [Runner(c, policy=pool).start() for c in sleepers]
        wait_until(lambda: min(c.steps for c in sleepers) >= 10, 60, what="every runner's steps")
        assert pool.tasks == 30
        for r in runners:
            assert r.stop()
        wait_until(lambda: pool.tasks == 0, 30, what="no task left")
        assert [c.closed for c in sleepers] == [1] * 30
        assert len(pool._threads) == 2
    finally:
        pool.shutdown()


def test_a_runner_that_comes_back_does_not_monopolise_the_pool(pool):
    """A runner paused while another ran for a second keeps no credit for its rest: once both run, they
    alternate (its virtual time is lifted to the pool's)."""
    rested, worker = Sleeper(), Sleeper()
    a = Runner(rested, policy=pool).start()
    a.pause()
    b = Runner(worker, policy=pool).start()
    time.sleep(1.0)
    a.start()
    before_a, before_b = rested.steps, worker.steps
    time.sleep(0.5)
    a.pause(), b.pause()
    gained_a, gained_b = rested.steps - before_a, worker.steps - before_b
    assert gained_b >= 0.6 * gained_a, (gained_a, gained_b)
    assert a.stop() and b.stop()


def test_a_shut_down_pool_refuses_new_runners():
    pool = SharedPool(workers=1)
    pool.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        Runner(Sleeper(), policy=pool).start()
    with pytest.raises(ValueError, match="at least one worker"):
        SharedPool(workers=0)


def test_an_ended_runner_is_not_kept_alive_by_the_waiting_workers():
    """Once a runner has stopped, nothing in the pool refers to it: its computation (a session's Gibbs
    engine, in the app) is freed with the session. Workers used to keep the last task they ran, or a stale
    queue entry they had just skipped, in a local variable while they waited for the next one."""
    import gc
    import weakref

    pool = SharedPool(workers=2, name="rbm-test-pool")
    try:
        sleepers = [Sleeper(0.001) for _ in range(4)]
        runners = [Runner(c, policy=pool, steps_per_second=200) for c in sleepers]
        for r in runners:
            r.start()
        wait_until(lambda: all(c.steps > 5 for c in sleepers), 30, what="steps from every runner")
        refs = [weakref.ref(c) for c in sleepers]
        for r in runners:
            r.stop()
        wait_until(lambda: pool.tasks == 0, 30, what="the pool to drop the runners")
        del sleepers, runners, r

        def freed():  # the worker lets go a moment after it has dropped the task
            gc.collect()
            return all(ref() is None for ref in refs)

        wait_until(freed, 10, what="the stopped computations to be freed")
    finally:
        pool.shutdown()


def test_a_bad_pool_setting_is_an_error_that_names_it(monkeypatch):
    """``$RBM_EXPLORER_POOL_WORKERS`` and ``$RBM_EXPLORER_WORKER_NICENESS`` are read when the pool is made, not
    in its worker threads, so a bad value is a clear error at once instead of a worker that dies silently."""
    monkeypatch.setenv("RBM_EXPLORER_POOL_WORKERS", "two")
    with pytest.raises(ValueError, match="RBM_EXPLORER_POOL_WORKERS.*'two'"):
        SharedPool()
    monkeypatch.delenv("RBM_EXPLORER_POOL_WORKERS")
    monkeypatch.setenv("RBM_EXPLORER_WORKER_NICENESS", "-3")
    with pytest.raises(ValueError, match="RBM_EXPLORER_WORKER_NICENESS.*-3"):
        SharedPool(workers=1)
