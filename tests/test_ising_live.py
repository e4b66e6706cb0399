"""The live Ising lattice on the background runner: it sweeps, its traces follow β, commands keep the spins, bad
commands are errors that leave it running, and the same seed gives the same lattice."""

import numpy as np
import pytest

from rbm_explorer.ising.live import IsingLattice
from rbm_explorer.ising.model import IsingModel
from rbm_explorer.live import Runner, ThreadPerRunner


def runner_for(lattice):
    return Runner(lattice, name="rbm-test-ising", policy=ThreadPerRunner()).start()


def test_the_lattice_sweeps_and_its_magnetization_follows_beta():
    lattice = IsingLattice(IsingModel(32, 0.2), "hybrid", seed=1)
    with runner_for(lattice) as runner:
        hot = runner.wait_until(lambda s: s.sweeps >= 200, 60)
        assert hot.abs_magnetization[-100:].mean() < 0.3
        assert len(hot.trace_sweeps) == len(hot.energy) == len(hot.abs_magnetization) > 0
        assert np.all(np.diff(hot.trace_sweeps) > 0)
        runner.call(IsingLattice.set_model, 0.7)
        cold = runner.wait_until(lambda s: s.model.beta == 0.7 and s.sweeps >= hot.sweeps + 300, 60)
        assert cold.abs_magnetization[-50:].mean() > 0.9
        assert abs(cold.magnetization) == pytest.approx(cold.abs_magnetization[-1], abs=0.05)
        assert not cold.spins.flags.writeable


def test_commands_keep_the_spins_and_bad_ones_leave_it_running():
    lattice = IsingLattice(IsingModel(16, 0.6), "metropolis", seed=2, start="ordered")
    with runner_for(lattice) as runner:
        runner.wait_until(lambda s: s.sweeps >= 20, 60)
        runner.pause()
        before = runner.call(lambda c: c.sampler.spins[0].copy())
        runner.call(IsingLattice.set_algorithm, "wolff")
        assert np.array_equal(runner.call(lambda c: c.sampler.spins[0]), before)
        with pytest.raises(ValueError, match="h = 0"):
            runner.call(IsingLattice.set_model, None, None, 0.2)  # a field with Wolff
        assert runner.call(lambda c: c.model.field) == 0.0
        runner.call(IsingLattice.set_algorithm, "metropolis")
        runner.call(IsingLattice.set_model, None, -1.0, 0.2)  # antiferromagnet in a field: Metropolis can
        with pytest.raises(ValueError, match="unknown live Ising algorithm"):
            runner.call(IsingLattice.set_algorithm, "multispin")
        runner.call(IsingLattice.set_size, 24)
        runner.start()
        snap = runner.wait_until(lambda s: s.model.L == 24 and s.sweeps >= 10, 60)
        assert snap.spins.shape == (24, 24) and snap.model.coupling == -1.0 and snap.error is None
        with pytest.raises(ValueError, match="even L"):
            runner.call(IsingLattice.set_size, 25)
        # the refusal is reported (the runner keeps a failed command's message) and the lattice runs on unchanged
        refused = runner.wait_until(lambda s: s.error is not None and "even L" in s.error, 60)
        runner.call(IsingLattice.restart, "ordered")
        after = runner.wait_until(lambda s: s.sweeps > refused.sweeps + 10, 60, what="sweeps after the refusal")
        assert after.model.L == 24 and after.running


def test_the_same_seed_gives_the_same_lattice():
    a, b = (IsingLattice(IsingModel(16, 0.44), "hybrid", seed=5) for _ in range(2))
    for _ in range(30):
        a.step()
        b.step()
    assert np.array_equal(a.sampler.spins, b.sampler.spins)
    assert np.array_equal(a._energy, b._energy)
