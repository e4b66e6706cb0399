"""Importers: a fitted scikit-learn BernoulliRBM in memory, and HDF5 archives in the layout of the PyTorch
``rbms`` package (DsysDML/rbms), written here with h5py."""

import h5py
import numpy as np
import pytest

from rbm_explorer.analysis.exact import log_partition_exact
from rbm_explorer.io import ModelFileError, from_rbms_archive, from_sklearn


def test_sklearn_bernoulli_rbm_free_energy_matches():
    from sklearn.neural_network import BernoulliRBM

    rng = np.random.default_rng(0)
    data = (rng.random((200, 12)) < 0.3).astype(float)
    est = BernoulliRBM(n_components=5, n_iter=5, random_state=0).fit(data)
    model = from_sklearn(est)
    rbm = model.rbm
    assert (rbm.visible.kind, rbm.hidden.kind, rbm.weights.shape) == ("binary", "binary", (12, 5))
    # sklearn's free energy is defined exactly as ours: -v.b_v - sum log(1 + exp(v W^T + b_h))
    np.testing.assert_allclose(rbm.free_energy_v(data[:20]), est._free_energy(data[:20]), rtol=1e-12)
    h_mean = rbm.mean_h_from_v(data[:20])
    np.testing.assert_allclose(h_mean, est.transform(data[:20]), rtol=1e-12)


def test_an_imported_model_saves_in_one_call(tmp_path):
    """The importer's output saves as it is: save_model(path, m.rbm, m.metadata), or m.save(path)."""
    from sklearn.neural_network import BernoulliRBM

    from rbm_explorer.io import load_model, save_model

    data = (np.random.default_rng(1).random((60, 8)) < 0.4).astype(float)
    model = from_sklearn(BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(data))
    for path in (save_model(tmp_path / "a.npz", model.rbm, model.metadata), model.save(tmp_path / "b.npz")):
        loaded = load_model(path)
        np.testing.assert_array_equal(loaded.rbm.weights, model.rbm.weights)
        assert loaded.metadata["provenance"]["imported_from"] == "sklearn.neural_network.BernoulliRBM"


def test_unfitted_estimator_is_refused():
    from sklearn.neural_network import BernoulliRBM

    with pytest.raises(ModelFileError, match="not a fitted BernoulliRBM"):
        from_sklearn(BernoulliRBM())


def write_rbms_archive(path, model_type, params_by_update):
    """The layout ``rbms.io.save_model`` writes: model_type, hyperparameters, parallel_chains, update_<n>."""
    with h5py.File(path, "w") as f:
        hyper = f.create_group("hyperparameters")
        for key, value in dict(num_hiddens=3, batch_size=10, gibbs_steps=5, learning_rate=0.01).items():
            hyper[key] = value
        f["model_type"] = model_type
        first = next(iter(params_by_update.values()))
        f["parallel_chains"] = np.zeros((4, first["vbias"].shape[0]), np.float32)
        for update, params in params_by_update.items():
            group = f.create_group(f"update_{update}")
            sub = group.create_group("params")
            for name, value in params.items():
                sub[name] = value.astype(np.float32)
                group[name] = value.astype(np.float32)
            group["time"] = 1.5
            group.create_group("flags")["checkpoint"] = True


def test_rbms_bernoulli_archive_newest_update_by_default(tmp_path):
    rng = np.random.default_rng(1)
    params = {n: {"weight_matrix": rng.standard_normal((6, 3)), "vbias": rng.standard_normal(6),
                  "hbias": rng.standard_normal(3)} for n in (1, 10, 200)}
    path = tmp_path / "bbrbm.h5"
    write_rbms_archive(path, "BBRBM", params)
    model = from_rbms_archive(path)
    assert model.metadata["provenance"]["update"] == 200
    np.testing.assert_allclose(model.rbm.weights, params[200]["weight_matrix"].astype(np.float32))
    older = from_rbms_archive(path, update=10)
    np.testing.assert_allclose(older.rbm.hidden.fields, params[10]["hbias"].astype(np.float32))
    assert np.isfinite(log_partition_exact(model.rbm))
    with pytest.raises(ModelFileError, match="no update 5; saved updates: \\[1, 10, 200\\]"):
        from_rbms_archive(path, update=5)


def test_rbms_potts_archive(tmp_path):
    rng = np.random.default_rng(2)
    params = {1: {"weight_matrix": rng.standard_normal((4, 21, 3)), "vbias": rng.standard_normal((4, 21)),
                  "hbias": rng.standard_normal(3)}}
    path = tmp_path / "pbrbm.h5"
    write_rbms_archive(path, "PBRBM", params)
    rbm = from_rbms_archive(path).rbm
    assert (rbm.visible.kind, rbm.visible.q, rbm.weights.shape) == ("potts", 21, (4, 21, 3))


def test_rbms_archive_errors(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "x.h5"
    write_rbms_archive(path, "BEBM", {1: {"weight_matrix": rng.standard_normal((2, 2)), "vbias": np.zeros(2),
                                          "hbias": np.zeros(2)}})
    with pytest.raises(ModelFileError, match="unsupported rbms model_type 'BEBM'"):
        from_rbms_archive(path)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"nope")
    with pytest.raises(ModelFileError, match="not a readable HDF5 file"):
        from_rbms_archive(junk)
