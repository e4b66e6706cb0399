"""The background runner (rbm_explorer.live) with a toy computation: commands land between steps, snapshots
are consistent, a target rate is kept, errors are reported, a finished computation ends the run, close runs
once, and the execution policy is the one place that decides who runs the ticks."""

import threading
import time

import pytest
from browser_support import wait_until

from rbm_explorer.live import ExecutionPolicy, Runner, ThreadPerRunner
from rbm_explorer.live.pool import SharedPool


@pytest.fixture(params=["thread-per-runner", "shared-pool"])
def policy(request):
    """Every behaviour of the runner holds whoever runs its ticks: its own thread, or the shared pool."""
    if request.param == "thread-per-runner":
        yield ThreadPerRunner()
        return
    pool = SharedPool(workers=2, name="rbm-test-pool")
    yield pool
    pool.shutdown()
    assert pool.tasks == 0


class Counter:
    """Counts steps; a step is two half-steps, so a snapshot taken mid-step would show an odd ``halves``."""

    def __init__(self, finish_at=None, fail_at=None):
        self.halves = 0
        self.finish_at, self.fail_at = finish_at, fail_at
        self.closed = 0
        self.threads = set()
        self.finished = False

    def step(self):
        self.threads.add(threading.current_thread().name)
        self.halves += 1
        time.sleep(0.0005)
        if self.fail_at is not None and self.halves // 2 + 1 == self.fail_at:
            raise ArithmeticError("step failed on purpose")
        self.halves += 1
        if self.finish_at is not None and self.halves // 2 >= self.finish_at:
            self.finished = True

    def snapshot(self, status):
        return {"halves": self.halves, "running": status.running, "version": status.version,
                "commands": status.commands, "error": status.error, "rate": status.rate}

    def close(self):
        self.closed += 1

    def add(self, n):  # a command: runs between two steps
        self.halves += 2 * n
        return self.halves


def test_commands_run_between_steps_and_their_results_come_back(policy):
    counter = Counter()
    with Runner(counter, name="rbm-test-runner", policy=policy).start() as runner:
        runner.wait_until(lambda s: s["halves"] >= 20, 30)
        results = [runner.call(Counter.add, 1) for _ in range(20)]
        assert all(r % 2 == 0 for r in results), "a command landed in the middle of a step"
        assert results == sorted(results)
        snap = runner.wait_until(lambda s: s["commands"] == 20, 30)
        assert snap["halves"] % 2 == 0 and snap["running"]
    assert counter.closed == 1
    if isinstance(policy, ThreadPerRunner):
        assert counter.threads == {"rbm-test-runner"}
    else:
        assert counter.threads <= {"rbm-test-pool-0", "rbm-test-pool-1"}


def test_a_target_rate_is_kept_and_pause_stops_stepping(policy):
    counter = Counter()
    with Runner(counter, steps_per_second=50, policy=policy).start() as runner:
        time.sleep(1.0)
        steps = counter.halves // 2
        assert 10 <= steps <= 75, f"{steps} steps in 1 s at a target of 50/s"  # the cap is the point; a loaded machine may do fewer
        runner.pause()
        snap = runner.wait_until(lambda s: not s["running"], 30, what="a paused snapshot")
        time.sleep(0.3)
        assert runner.snapshot()["halves"] == snap["halves"] == counter.halves
        runner.call(Counter.add, 3)  # commands still run while paused, and are published
        assert runner.snapshot()["halves"] == snap["halves"] + 6
        runner.steps_per_second = None
        runner.start()
        runner.wait_until(lambda s: s["halves"] > snap["halves"] + 200, 30)
    with pytest.raises(ValueError, match="steps_per_second must be positive"):
        runner.steps_per_second = 0


def test_a_failing_step_pauses_with_the_error_and_a_failing_command_does_not(policy):
    counter = Counter(fail_at=5)
    runner = Runner(counter, policy=policy).start()
    try:
        snap = runner.wait_until(lambda s: s["error"] is not None, 30, what="the error")
        assert "ArithmeticError: step failed on purpose" in snap["error"] and not snap["running"]
        with pytest.raises(TypeError):
            runner.call(Counter.add, "x")
        assert "add failed" in runner.error and runner.alive
    finally:
        assert runner.stop()
    assert counter.closed == 1


def test_a_finished_computation_ends_the_run_and_later_commands_run_inline(policy):
    counter = Counter(finish_at=10)
    ended = threading.Event()
    runner = Runner(counter, on_exit=ended.set, policy=policy).start()
    assert ended.wait(30) and not runner.alive
    assert counter.halves == 20 and counter.closed == 1
    assert runner.call(Counter.add, 1) == 22  # after the end: at once, on this thread
    assert runner.snapshot()["halves"] == 22
    assert runner.stop() and counter.closed == 1
    with pytest.raises(RuntimeError, match="has been stopped"):
        runner.start()


def test_before_start_commands_apply_at_once_and_stop_needs_no_thread():
    counter = Counter()
    runner = Runner(counter)
    assert runner.call(Counter.add, 2) == 4 and runner.snapshot()["halves"] == 4
    assert not runner.alive and runner.stop()


def test_the_execution_policy_is_the_one_place_that_decides_who_runs_the_ticks():
    """A policy that serves two runners from one thread, round-robin: the computations and the runner are
    unchanged, which is what the shared pool of a classroom server needs."""

    class OneThreadForAll(ExecutionPolicy):
        def __init__(self):
            self.runners, self.thread = [], None

        def launch(self, runner):
            self.runners.append(runner)
            return runner

        def run(self):
            def loop():
                while any(not r.done for r in self.runners):
                    for r in self.runners:
                        if not r.done:
                            r.tick()
                    time.sleep(0.0001)
                for r in self.runners:
                    r.finish()

            self.thread = threading.Thread(target=loop, name="rbm-shared-pool")
            self.thread.start()

    policy = OneThreadForAll()
    a, b = Counter(finish_at=50), Counter(finish_at=80)
    runners = [Runner(a, policy=policy).start(), Runner(b, policy=policy).start()]
    policy.run()
    policy.thread.join(30)
    assert a.threads == b.threads == {"rbm-shared-pool"}
    assert (a.halves, b.halves, a.closed, b.closed) == (100, 160, 1, 1)
    assert all(not r.alive for r in runners)


def test_an_exception_escaping_the_loop_is_recorded_not_lost(policy):
    class Broken(Counter):
        def snapshot(self, status):
            if self.halves > 10:
                raise SystemError("publishing broke")
            return super().snapshot(status)

    counter = Broken()
    runner = Runner(counter, publish_hz=1000, policy=policy).start()
    wait_until(lambda: not runner.alive, 30, what="the broken runner to end")
    assert "SystemError: publishing broke" in (runner.error or "") and counter.closed == 1
    assert runner.snapshot()["halves"] <= 10  # the last good snapshot stays
