"""The public model format: round trips, minimal files written by plain numpy, and one clear error per
kind of bad file."""

import json
import os
import zipfile

import numpy as np
import pytest
from conftest import tiny_rbm

from rbm_explorer.io import ModelFileError, load_model, save_model
from rbm_explorer.io.model_file import FORMAT

META = {"format": FORMAT, "format_version": 1, "visible_kind": "binary", "hidden_kind": "binary"}


def write_minimal(path, meta=META, **arrays):
    base = {"weights": np.ones((4, 2)), "visible_fields": np.zeros(4), "hidden_fields": np.zeros(2)}
    base.update(arrays)
    base = {k: v for k, v in base.items() if v is not None}
    if meta is not None:
        base["metadata"] = np.array(json.dumps(meta))
    np.savez(path, **base)
    return path


@pytest.mark.parametrize("visible,hidden,label", [("binary", "binary", 0), ("spin", "spin", 0),
                                                  ("potts", "binary", 0), ("binary", "spin", 3)])
def test_round_trip_keeps_parameters_and_metadata(tmp_path, visible, hidden, label):
    rbm = tiny_rbm(visible, hidden, seed=1, label_classes=label)
    path = save_model(tmp_path / "m.npz", rbm, {"image_shape": [2, 2] if visible == "potts" else [2, 3],
                                                "dataset": {"name": "x"}})
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.rbm.weights, rbm.weights)
    np.testing.assert_array_equal(loaded.rbm.visible.fields, rbm.visible.fields)
    np.testing.assert_array_equal(loaded.rbm.hidden.fields, rbm.hidden.fields)
    assert loaded.metadata["dataset"] == {"name": "x"}
    assert loaded.metadata["provenance"]["package_version"]
    if label:
        np.testing.assert_array_equal(loaded.rbm.label_weights, rbm.label_weights)
    v = rbm.visible.all_states()[:10]
    np.testing.assert_allclose(loaded.rbm.free_energy_v(v), rbm.free_energy_v(v))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_a_file_written_by_plain_numpy_savez_loads(tmp_path, dtype):
    path = write_minimal(tmp_path / "plain.npz", weights=np.ones((4, 2), dtype))
    model = load_model(path)
    assert model.rbm.weights.dtype == np.float64 and model.rbm.n_visible == 4


def test_potts_file_with_q(tmp_path):
    meta = dict(META, visible_kind="potts", q=3)
    path = write_minimal(tmp_path / "p.npz", meta, weights=np.ones((4, 3, 2)), visible_fields=np.zeros((4, 3)))
    assert load_model(path).rbm.visible.q == 3


BAD_CASES = {
    "missing weights": (dict(weights=None), "missing the required array 'weights'"),
    "missing metadata": (dict(meta=None), "missing the required entry 'metadata'"),
    "missing visible_kind": (dict(meta={k: v for k, v in META.items() if k != "visible_kind"}),
                             "missing the required key 'visible_kind'"),
    "wrong weight shape": (dict(weights=np.ones((4, 3))), "'weights' must have shape \\(4, 2\\)"),
    "wrong field rank": (dict(hidden_fields=np.zeros((2, 1))), "'hidden_fields' must be 1-d"),
    "string dtype": (dict(visible_fields=np.array(["a"] * 4)), "'visible_fields' has dtype <U1"),
    "NaN": (dict(weights=np.array([[np.nan, 1]] * 4)), "'weights' contains NaN"),
    "Inf": (dict(hidden_fields=np.array([np.inf, 0])), "'hidden_fields' contains Inf"),
    "unknown visible kind": (dict(meta=dict(META, visible_kind="ising")), "unknown visible_kind 'ising'"),
    "unknown hidden kind": (dict(meta=dict(META, hidden_kind="relu")), "unknown hidden_kind 'relu'"),
    "wrong format": (dict(meta=dict(META, format="other")), "'format' must be 'rbm_explorer.model'"),
    "future version": (dict(meta=dict(META, format_version=2)), "unsupported format_version 2"),
    "potts without q": (dict(meta=dict(META, visible_kind="potts")), "metadata key 'q' of the potts visible units.*integer"),
    "half a label": (dict(label_fields=np.zeros(3)), "'label_weights' is missing"),
    "bad image shape": (dict(meta=dict(META, image_shape=[3, 3])), "does not hold 4 visible units"),
}


def write_bad_case(folder, case):
    """Write the bad file of ``BAD_CASES[case]``; returns its path and the expected message pattern."""
    changes, message = BAD_CASES[case]
    changes = dict(changes)
    meta = changes.pop("meta", META)
    return write_minimal(folder / "bad.npz", meta, **changes), message


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_each_bad_file_gets_an_error_naming_the_problem(tmp_path, case):
    path, message = write_bad_case(tmp_path, case)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_metadata_that_is_not_json(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, weights=np.ones((4, 2)), visible_fields=np.zeros(4), hidden_fields=np.zeros(2),
             metadata=np.array("{not json"))
    with pytest.raises(ModelFileError, match="'metadata' is not valid JSON"):
        load_model(path)


def test_not_an_archive_and_a_truncated_one(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ModelFileError, match="not a readable .npz archive"):
        load_model(junk)
    good = save_model(tmp_path / "good.npz", tiny_rbm("binary", "binary"))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="cut.npz: (not a readable .npz archive|cannot read the archive)"):
        load_model(cut)


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "pickle.npz"
    obj = np.empty(1, dtype=object)
    obj[0] = {"evil": True}
    np.savez(path, weights=np.ones((4, 2)), visible_fields=np.zeros(4), hidden_fields=np.zeros(2),
             metadata=np.array(json.dumps(META)), payload=obj)
    with pytest.raises(ModelFileError, match="object arrays, which are not allowed"):
        load_model(path)


def test_files_over_the_size_bound(tmp_path):
    path = write_minimal(tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="over the limit of 100 bytes"):
        load_model(path, max_bytes=100)
    # a small compressed file that unpacks to a lot is refused before it is unpacked
    big = tmp_path / "bomb.npz"
    np.savez_compressed(big, weights=np.zeros((3000, 1000)), visible_fields=np.zeros(3000),
                        hidden_fields=np.zeros(1000), metadata=np.array(json.dumps(META)))
    assert big.stat().st_size < 1_000_000
    with pytest.raises(ModelFileError, match="unpacks to"):
        load_model(big, max_bytes=1_000_000)


def test_raw_members_scalars_and_empty_arrays(tmp_path):
    path = write_minimal(tmp_path / "raw.npz")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("readme.txt", "not an array")
    with pytest.raises(ModelFileError, match="entry 'readme.txt' is not a .npy array"):
        load_model(path)
    with pytest.raises(ModelFileError, match="array 'weights' is a scalar"):
        load_model(write_minimal(tmp_path / "s.npz", weights=np.array(1.0)))
    with pytest.raises(ModelFileError, match="array 'weights' is empty"):
        load_model(write_minimal(tmp_path / "e.npz", weights=np.ones((4, 0)), hidden_fields=np.zeros(0)))
    with pytest.raises(ModelFileError, match="unsupported format_version True"):
        load_model(write_minimal(tmp_path / "b.npz", dict(META, format_version=True)))
    deep = "[" * 100_000 + "]" * 100_000
    np.savez(tmp_path / "deep.npz", weights=np.ones((4, 2)), visible_fields=np.zeros(4), hidden_fields=np.zeros(2),
             metadata=np.array(deep))
    with pytest.raises(ModelFileError, match="'metadata' is not valid JSON"):
        load_model(tmp_path / "deep.npz")


def test_potts_weights_in_the_wrong_layout_are_refused(tmp_path):
    meta = dict(META, visible_kind="potts", q=3)
    path = write_minimal(tmp_path / "p.npz", meta, weights=np.ones((4, 2, 3)), visible_fields=np.zeros((4, 3)))
    with pytest.raises(ModelFileError, match="'weights' must have shape \\(4, 3, 2\\)"):
        load_model(path)


def test_metadata_cannot_override_the_model_description(tmp_path):
    with pytest.raises(ModelFileError, match="set from the model itself"):
        save_model(tmp_path / "m.npz", tiny_rbm("binary", "binary"), {"visible_kind": "spin"})
    with pytest.raises(ModelFileError, match=r"\['q'\] are set from the model itself"):
        save_model(tmp_path / "m.npz", tiny_rbm("potts", "binary"), {"q": 5})


def test_a_loaded_model_saves_again_with_its_own_metadata(tmp_path):
    """The format keys of a loaded file agree with the model, so save_model(path, m.rbm, m.metadata) and
    ModelFile.save both round-trip."""
    first = load_model(save_model(tmp_path / "a.npz", tiny_rbm("potts", "binary", seed=3), {"dataset": "x"}))
    again = load_model(save_model(tmp_path / "b.npz", first.rbm, first.metadata))
    third = load_model(first.save(tmp_path / "c.npz"))
    for other in (again, third):
        np.testing.assert_array_equal(other.rbm.weights, first.rbm.weights)
        assert other.metadata["q"] == 3 and other.metadata["dataset"] == "x"


@pytest.mark.parametrize("hidden", ["binary", "spin", "gaussian"])
def test_gaussian_visible_round_trip(tmp_path, hidden):
    """Unit-variance Gaussian visibles are a visible kind of format version 1: parameters, metadata and the
    free energy survive a save and a load."""
    rbm = tiny_rbm("gaussian", hidden, seed=7, n_visible=5)
    path = save_model(tmp_path / "g.npz", rbm, {"dataset": {"name": "standardised"}})
    loaded = load_model(path)
    assert loaded.metadata["visible_kind"] == "gaussian" and loaded.metadata["format_version"] == 1
    assert loaded.rbm.visible.kind == "gaussian" and loaded.rbm.hidden.kind == hidden
    np.testing.assert_array_equal(loaded.rbm.weights, rbm.weights)
    np.testing.assert_array_equal(loaded.rbm.visible.fields, rbm.visible.fields)
    v = np.random.default_rng(0).standard_normal((8, 5))
    np.testing.assert_allclose(loaded.rbm.free_energy_v(v), rbm.free_energy_v(v), rtol=0, atol=1e-12)


def test_kinds_are_checked_against_the_layer_registry(tmp_path):
    """Kinds that exist but cannot sit in a role are refused with the allowed list, from the registry."""
    from rbm_explorer.layers import layer_kinds

    assert "gaussian" in layer_kinds("visible") and "potts" not in layer_kinds("hidden")
    path = write_minimal(tmp_path / "bad.npz", meta=dict(META, hidden_kind="potts"))
    with pytest.raises(ModelFileError, match="unknown hidden_kind 'potts'; expected one of binary, gaussian, spin"):
        load_model(path)
    path = write_minimal(tmp_path / "bad.npz", meta=dict(META, visible_kind="label"))
    with pytest.raises(ModelFileError, match="unknown visible_kind 'label'"):
        load_model(path)


def test_missing_file():
    with pytest.raises(ModelFileError, match="no such file"):
        load_model("/nonexistent/model.npz")


def test_saves_are_atomic(tmp_path, monkeypatch):
    """A save that fails half way leaves the previous file intact and no temporary file behind."""
    path = save_model(tmp_path / "m.npz", tiny_rbm("binary", "binary", seed=1))
    before = path.read_bytes()

    def broken_savez(handle, **arrays):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, tiny_rbm("binary", "binary", seed=2))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]
    assert zipfile.is_zipfile(path)


def test_float16_extra_arrays_stay_float16_while_the_model_takes_the_file_dtype(tmp_path):
    rbm = tiny_rbm("binary", "binary", seed=3)
    snapshot = np.random.default_rng(0).normal(size=rbm.weights.shape).astype(np.float16)
    path = save_model(tmp_path / "m.npz", rbm, extra_arrays={"history_weights_epoch_0": snapshot,
                                                             "other": np.ones(3)}, dtype=np.float32)
    with np.load(path, allow_pickle=False) as raw:
        assert raw["weights"].dtype == np.float32 and raw["other"].dtype == np.float32
        assert raw["history_weights_epoch_0"].dtype == np.float16
    np.testing.assert_array_equal(load_model(path).extra_arrays["history_weights_epoch_0"], snapshot)
