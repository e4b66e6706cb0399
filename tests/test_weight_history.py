"""The weight history of trained models and checkpoints: singular values per epoch in one array, snapshots of
W and the fields, no snapshot that duplicates the model, float16 storage, and files of the older layouts."""

import json

import numpy as np
import pytest
from conftest import tiny_rbm

from rbm_explorer.io import ModelFileError, load_model, save_model
from rbm_explorer.io.weight_history import Snapshot, WeightHistory, history_arrays, model_parameters
from rbm_explorer.training.checkpoint import resume_trainer, save_checkpoint
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.loop import Trainer, initialize_rbm
from rbm_explorer.training.recipes import Recipe, train_recipe

# float16 keeps 11 significant bits: a relative rounding of 2**-11 per weight
FLOAT16_RELATIVE = 2.0**-11


def svd(w):
    return np.linalg.svd(np.asarray(w, np.float64), compute_uv=False)


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    """A D = 3 released model of the 8x8 digits: its released units get oriented (flipped) after training."""
    config = TrainingConfig(gibbs_steps=1, epochs=4, batch_size=50, snapshot_epochs=(0, 2, 4), seed=3)
    recipe = Recipe("digits8", {"digits": "0,1,2"}, hidden=12, constraint="linear", released=2, config=config)
    path = tmp_path_factory.mktemp("history") / "mc.npz"
    train_recipe(recipe, path)
    return load_model(path)


def test_a_trained_model_records_every_epoch_and_its_snapshots(multiclass):
    model = multiclass
    history = model.weight_history()
    n, m = model.rbm.weight_matrix.shape
    assert isinstance(history, WeightHistory)
    np.testing.assert_array_equal(history.epochs, np.arange(5))
    assert history.singular_values.dtype == np.float32 and history.singular_values.shape == (5, min(n, m))
    assert history.snapshot_epochs == [0, 2, 4]
    # full W at the first and last snapshots; the one between keeps its fields and top modes
    assert [snap.weights is None for snap in history.snapshots] == [False, True, False]
    assert history.mode_epochs == [0, 2, 4]
    for snap in history.snapshots:
        assert snap.visible_fields.shape == (n,) and snap.hidden_fields.shape == (m,)
        # the stored spectrum is that of the snapshot, up to the snapshot's float16 rounding E: by Weyl's bound
        # |d sigma| <= ||E||_2 <= ||E||_F <= 2**-11 ||W||_F <= 2**-11 sqrt(rank) sigma_max
        row = history.singular_values[list(history.epochs).index(snap.epoch)]
        bound = FLOAT16_RELATIVE * np.sqrt(min(n, m)) * row[0]
        k = len(snap.modes.singular_values)
        assert k == min(10, n, m) and snap.modes.u.shape == (n, k) and snap.modes.v.shape == (m, k)
        np.testing.assert_allclose(snap.modes.singular_values, row[:k], rtol=0, atol=bound)
        if snap.weights is not None:
            assert snap.weights.shape == (n, m)
            np.testing.assert_allclose(svd(snap.weights), row, rtol=0, atol=bound)
    # singular values live in arrays, not in the JSON metadata
    assert all("singular_values" not in r for r in model.metadata["history"]["epochs"])
    assert "singular_values" not in json.dumps(model.metadata)


def test_no_snapshot_duplicates_the_model_and_snapshots_are_float16(multiclass):
    model = multiclass
    assert "history_weights_epoch_4" not in model.extra_arrays
    assert model.metadata["history"]["model_epoch"] == 4
    last = model.weight_history().snapshot(4)
    np.testing.assert_array_equal(last.weights, model.rbm.weight_matrix)
    np.testing.assert_array_equal(last.visible_fields, model.rbm.visible.feature_fields)
    stored = [name for name in model.extra_arrays if name.startswith("history_") and "_epoch_" in name
              and "projection" not in name]
    assert stored and all(model.extra_arrays[name].dtype == np.float16 for name in stored)


def test_snapshots_share_the_models_labelling_of_flipped_units(multiclass):
    """Released units flipped when the model was oriented are flipped in every snapshot too, so the epoch-2
    snapshot's released columns point the way the final model's do. (With seed 3, orienting flips unit 1; an
    unflipped snapshot would give that column a negative overlap.)"""
    model = multiclass
    history = model.weight_history()
    modes = history.snapshot(2).modes  # the middle snapshot keeps the top 10 of 12 modes
    final, middle = model.rbm.weight_matrix, modes.u * modes.singular_values @ modes.v.T
    for unit in model.metadata["released_units"]:
        assert float(final[:, unit] @ middle[:, unit]) > 0


def test_the_old_layouts_still_read(tmp_path):
    """Checkpoints named snapshots weights_epoch_E, and trained models kept singular values in the epoch
    records of the metadata; neither stored snapshot fields."""
    rbm = tiny_rbm("binary", "binary", seed=5)
    w0 = rbm.weight_matrix * 0.5
    records = [{"epoch": 1, "reconstruction_error": 0.1, "seconds": 0.1, "singular_values": None},
               {"epoch": 2, "reconstruction_error": 0.1, "seconds": 0.1, "singular_values": svd(w0).tolist()}]
    path = save_model(tmp_path / "old.npz", rbm, {"history": {"epochs": records, "snapshot_epochs": [0, 2]}},
                      extra_arrays={"weights_epoch_0": w0, "history_weights_epoch_2": rbm.weight_matrix})
    history = load_model(path).weight_history()
    np.testing.assert_array_equal(history.epochs, [2])
    np.testing.assert_allclose(history.singular_values[0], svd(w0), rtol=1e-6)
    assert history.snapshot_epochs == [0, 2]
    np.testing.assert_allclose(history.snapshot(0).weights, w0)
    assert history.snapshot(0).visible_fields is None and history.snapshot(2).hidden_fields is None
    with pytest.raises(KeyError, match=r"no weight snapshot at epoch 1; snapshots exist at epochs \[0, 2\]"):
        history.snapshot(1)


def test_a_model_without_history_has_an_empty_one(tmp_path):
    history = load_model(save_model(tmp_path / "m.npz", tiny_rbm("spin", "spin"))).weight_history()
    assert len(history) == 0 and history.singular_values.shape == (0, 3) and history.snapshots == ()


@pytest.mark.parametrize("bad", ["snapshot", "spectrum", "fields"])
def test_history_arrays_that_do_not_fit_the_model_are_named(tmp_path, bad):
    rbm = tiny_rbm("binary", "binary", seed=6)
    extra = {
        "snapshot": {"history_weights_epoch_0": np.ones((5, 3))},
        "spectrum": {"history_singular_values": np.ones((2, 4), np.float32), "history_epochs": np.arange(2)},
        "fields": {"history_weights_epoch_0": rbm.weight_matrix, "history_visible_fields_epoch_0": np.ones(2)},
    }[bad]
    path = save_model(tmp_path / "m.npz", rbm, extra_arrays=extra)
    with pytest.raises(ModelFileError, match="m.npz: .*(snapshot|history_singular_values)"):
        load_model(path).weight_history()


def test_history_arrays_store_what_weight_history_reads(tmp_path):
    rbm = tiny_rbm("potts", "binary", seed=8)
    params = model_parameters(rbm)
    early = Snapshot(0, params[0] * 0.1, params[1] * 0.0, params[2] * 0.0)
    final = Snapshot(3, *(np.array(p) for p in params))
    record = WeightHistory(np.array([0, 3]), np.stack([svd(early.weights), svd(final.weights)]).astype(np.float32),
                           (early, final))
    arrays, meta = history_arrays(record, model_epoch=3, model_params=params)
    assert meta == {"snapshot_epochs": [0, 3], "model_epoch": 3}
    assert sorted(arrays) == ["history_epochs", "history_hidden_fields_epoch_0", "history_singular_values",
                              "history_visible_fields_epoch_0", "history_weights_epoch_0"]
    back = load_model(save_model(tmp_path / "p.npz", rbm, {"history": meta}, extra_arrays=arrays)).weight_history()
    assert back.snapshot_epochs == [0, 3]
    np.testing.assert_array_equal(back.snapshot(3).weights, rbm.weight_matrix)
    # float16 subnormals (below 6.1e-5) are spaced 2**-24 apart
    np.testing.assert_allclose(back.snapshot(0).weights, early.weights, rtol=FLOAT16_RELATIVE, atol=2.0**-24)
    np.testing.assert_array_equal(back.singular_values, record.singular_values)


def test_checkpoints_keep_the_full_history_exactly(tmp_path):
    rbm0 = tiny_rbm("binary", "binary", seed=9)
    data = (np.random.default_rng(0).random((120, 6)) < 0.4).astype(float)
    config = TrainingConfig(gibbs_steps=1, batch_size=20, epochs=3, snapshot_epochs=(0, 2))
    trainer = Trainer(initialize_rbm("binary", "binary", 6, 3, rbm0.visible.features(data), config), data, config)
    list(trainer.run())
    save_checkpoint(trainer, tmp_path / "c.npz")
    resumed = resume_trainer(tmp_path / "c.npz", data)
    for epoch in (0, 2):
        np.testing.assert_array_equal(resumed.history.snapshots[epoch].weights, trainer.history.snapshots[epoch].weights)
        np.testing.assert_array_equal(resumed.history.snapshots[epoch].hidden_fields,
                                      trainer.history.snapshots[epoch].hidden_fields)
        for part in ("u", "singular_values", "v"):
            np.testing.assert_array_equal(getattr(resumed.history.snapshots[epoch].modes, part),
                                          getattr(trainer.history.snapshots[epoch].modes, part))
        for part in ("edges", "chains", "test", "moments"):  # checkpoints keep the projections as recorded
            np.testing.assert_allclose(getattr(resumed.history.snapshots[epoch].projections, part),
                                       getattr(trainer.history.snapshots[epoch].projections, part), rtol=1e-6)
    assert sorted(resumed.history.spectra) == [0, 1, 2, 3]
    np.testing.assert_array_equal(resumed.history.spectra[3], trainer.history.spectra[3])
    state, again = trainer.state_dict(), resumed.state_dict()
    assert (state["epoch"], state["update"], state["batch"]) == (again["epoch"], again["update"], again["batch"])
    np.testing.assert_array_equal(state["chains"]["counters"], again["chains"]["counters"])
    assert state["chains"]["rng"] == again["chains"]["rng"]


def test_recording_modes_and_projections_never_changes_the_run():
    """A snapshot reads the chains and the test data and draws no random number: the same seed trains the
    same weights with or without the top modes, and the projections are those of the chains at that epoch."""
    data = (np.random.default_rng(1).random((200, 6)) < 0.4).astype(float)
    test = (np.random.default_rng(2).random((50, 6)) < 0.4).astype(float)
    config = TrainingConfig(gibbs_steps=2, batch_size=20, epochs=3, snapshot_epochs=(0, 1, 3), seed=4)
    runs = []
    for modes in (0, 3):
        rbm = initialize_rbm("binary", "binary", 6, 4, data, config)
        trainer = Trainer(rbm, data, config, test_data=test, snapshot_modes=modes)
        list(trainer.run())
        runs.append(trainer)
    np.testing.assert_array_equal(runs[0].rbm.weight_matrix, runs[1].rbm.weight_matrix)
    assert all(s.modes is None for s in runs[0].history.snapshots.values())
    last = runs[1].history.snapshots[3]
    x = runs[1].engine.state.v.astype(np.float64) @ last.modes.u
    np.testing.assert_allclose(last.projections.moments[0], x.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last.projections.moments[2], (test @ last.modes.u).mean(axis=0), rtol=1e-5)
    assert (last.projections.chains.sum(axis=1) == config.chains).all()
