"""Ising datasets: labels by the sign of the magnetization with random ties, decorrelated equilibrium samples,
the bit-packed cache (hit, corrupt file regenerated), and the three-phase mixture."""

import numpy as np
import pytest

from rbm_explorer.datasets import load_dataset
from rbm_explorer.datasets.base import DatasetError
from rbm_explorer.ising import data as ising_data
from rbm_explorer.ising import exact


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(tmp_path / "home"))


def test_labels_are_the_sign_of_the_magnetization_and_ties_are_broken_at_random():
    dataset = load_dataset("ising", L=4, beta=0.2, n=3000, seed=3)
    total = dataset.data.astype(int).sum(axis=1)
    assert dataset.encoding == "spin" and dataset.data.shape == (3000, 16)
    assert np.array_equal(dataset.labels[total > 0], np.ones((total > 0).sum()))
    assert np.array_equal(dataset.labels[total < 0], np.zeros((total < 0).sum()))
    tie = dataset.attributes["tie"]
    assert np.array_equal(tie, total == 0) and tie.sum() > 200  # at β = 0.2 a 4x4 lattice often has Σs = 0
    # ties split about evenly: binomial, 4 standard deviations
    share = dataset.labels[tie].mean()
    assert abs(share - 0.5) < 4 * 0.5 / np.sqrt(tie.sum())
    again = load_dataset("ising", L=4, beta=0.2, n=3000, seed=3)
    assert np.array_equal(again.labels, dataset.labels)
    assert len(dataset.train) + len(dataset.test) == 3000 and len(dataset.test) == 600


def test_configurations_are_decorrelated_equilibrium_samples():
    """Treated as independent, the sample mean energy is within 4 standard errors of the exact torus value: with
    configurations closer than τ_int, the standard error computed this way would be too small."""
    L, beta = 8, 0.42
    dataset = load_dataset("ising", L=L, beta=beta, n=4000, seed=1)
    info = dataset.info
    assert info["gap_sweeps"] >= info["tau_int_sweeps"] >= 1
    energy = dataset.attributes["energy"]
    assert abs(energy.mean() - exact.torus_energy(L, beta)) < 4 * energy.std() / np.sqrt(len(energy))
    # the lag-one correlation of one replica's energies (time-major order) is small
    series = energy.reshape(-1, info["replicas"])
    a, b = series[:-1].ravel(), series[1:].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.5 + 4 / np.sqrt(len(a))


def test_the_cache_is_bit_packed_reused_and_regenerated_when_corrupt(monkeypatch):
    first = load_dataset("ising", L=16, beta=0.5, n=500, seed=2)
    path = ising_data.cache_path(ising_data._request(16, 0.5, 1.0, 0.0, 500, 2, ising_data.DEFAULT_REPLICAS))
    assert path.exists() and first.info["cache"] == str(path)
    assert path.stat().st_size < 500 * 256 / 8 + 4096  # one bit per spin plus the metadata
    real_generate = ising_data.generate

    def must_not_run(*args, **kwargs):
        raise AssertionError("regenerated although the cache holds this request")

    monkeypatch.setattr(ising_data, "generate", must_not_run)
    cached = load_dataset("ising", L=16, beta=0.5, n=500, seed=2)
    assert np.array_equal(cached.data, first.data) and cached.info["tau_int_sweeps"] == first.info["tau_int_sweeps"]
    path.write_bytes(b"not an npz file")
    monkeypatch.setattr(ising_data, "generate", real_generate)
    again = load_dataset("ising", L=16, beta=0.5, n=500, seed=2)
    assert np.array_equal(again.data, first.data)  # the same request regenerates the same samples
    assert np.load(path, allow_pickle=False)["spins"].dtype == np.uint8


def test_the_three_phase_mixture_for_the_beta_vae():
    dataset = load_dataset("ising_phases", L=16, n=600, seed=0)
    assert dataset.label_names == ("ferromagnet", "antiferromagnet", "paramagnet")
    assert dataset.encoding == "binary" and set(np.unique(dataset.data)) == {0, 1}
    m = np.abs(dataset.attributes["magnetization"])
    ms = np.abs(dataset.attributes["staggered_magnetization"])
    by = {name: dataset.labels == k for k, name in enumerate(dataset.label_names)}
    assert m[by["ferromagnet"]].mean() > 0.8 and ms[by["ferromagnet"]].mean() < 0.2
    assert ms[by["antiferromagnet"]].mean() > 0.8 and m[by["antiferromagnet"]].mean() < 0.2
    assert m[by["paramagnet"]].mean() < 0.3 and ms[by["paramagnet"]].mean() < 0.3


@pytest.mark.parametrize("options,words", [
    (dict(L=5, beta=0.4, J=-1.0), "even L"),
    (dict(n=0), "number of configurations"),
    (dict(beta=-1.0), "positive"),
    (dict(encoding="potts"), "encoding"),
])
def test_bad_options_are_dataset_errors(options, words):
    with pytest.raises(DatasetError, match=words):
        load_dataset("ising", **{"n": 10, "L": 4, **options})


def test_phase_mixture_needs_ordered_and_disordered_temperatures():
    with pytest.raises(DatasetError, match="beta_c"):
        load_dataset("ising_phases", L=8, n=30, beta_ordered=0.3)
    with pytest.raises(DatasetError, match="even L"):
        load_dataset("ising_phases", L=7, n=30)
