"""Datasets: bundled MNIST, IDX files, scikit-learn digits, bars and stripes, and the registry."""

import gzip
import inspect
import json
import subprocess
import sys

import numpy as np
import pytest

from rbm_explorer.datasets import (
    DATASETS,
    Dataset,
    DatasetEntry,
    DatasetError,
    dataset_entry,
    list_datasets,
    load_dataset,
    stratified_split,
)
from rbm_explorer.datasets.idx import read_idx
from rbm_explorer.resources import assets_dir

RECORDED = json.loads((assets_dir() / "data" / "mnist10k.json").read_text())


@pytest.mark.parametrize("digits,classes", [("0,1", [0, 1]), ("0-3", [0, 1, 2, 3]), ("all", list(range(10)))])
def test_mnist_subsets_load_from_assets_with_the_recorded_counts(digits, classes):
    data = load_dataset("mnist", digits=digits)
    assert data.data.shape == (sum(RECORDED["class_counts"][c] for c in classes), 784)
    assert list(data.class_counts().values()) == [RECORDED["class_counts"][c] for c in classes]
    assert data.data.dtype == np.uint8 and set(np.unique(data.data)) <= {0, 1}


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_mnist_fraction_of_pixels_above_threshold_matches_the_build_script(threshold):
    data = load_dataset("mnist", threshold=threshold)
    assert data.data.mean() == pytest.approx(RECORDED["fraction_above"][str(threshold)], abs=1e-12)


def test_mnist_split_is_stratified_deterministic_and_shared_by_subsets():
    full, again = load_dataset("mnist"), load_dataset("mnist")
    assert (len(full.train), len(full.test)) == (8000, 2000)
    np.testing.assert_array_equal(full.test, again.test)
    assert np.intersect1d(full.train, full.test).size == 0
    test_share = np.bincount(full.labels[full.test], minlength=10) / np.array(RECORDED["class_counts"])
    assert np.all(np.abs(test_share - 0.2) < 0.002)  # rounding of each class's share
    # a digit in the 0/1 test set is in the full test set too
    small = load_dataset("mnist", digits="0,1")
    small_test = {row.tobytes() for row in small.data[small.test]}
    full01 = full.data[full.test][np.isin(full.labels[full.test], [0, 1])]
    assert small_test == {row.tobytes() for row in full01}


def test_mnist_spin_encoding_and_greys():
    spin = load_dataset("mnist", digits="0,1", encoding="spin")
    binary = load_dataset("mnist", digits="0,1")
    np.testing.assert_array_equal(spin.data, 2 * binary.data.astype(np.int8) - 1)
    grey = load_dataset("mnist", digits="0,1", threshold=None)
    assert grey.encoding == "grey" and grey.data.dtype == np.float32 and 0 <= grey.data.min() < grey.data.max() <= 1


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def test_mnist_from_an_idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    train_images, test_images = rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 256, (10, 28, 28))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", train_images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(30) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test_images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10))
    data = load_dataset("mnist", folder=str(tmp_path), digits="0-2", threshold=None)
    assert (len(data.train), len(data.test)) == (9, 3)
    np.testing.assert_allclose(data.data[data.test[0]], test_images[0].reshape(-1) / 255, rtol=1e-6)


def test_idx_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("mnist", folder=str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="no train-images-idx3-ubyte or train-images-idx3-ubyte.gz"):
        load_dataset("mnist", folder=str(tmp_path))
    full = tmp_path / "x-idx3-ubyte"
    write_idx(full, np.zeros((5, 28, 28)))
    cut = tmp_path / "cut-idx3-ubyte"
    cut.write_bytes(full.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(cut)
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x12\x34\x08\x01")
    with pytest.raises(DatasetError, match="bad magic number"):
        read_idx(junk)


def test_bad_mnist_options():
    with pytest.raises(DatasetError, match="classes \\[12\\] are not in 0..9"):
        load_dataset("mnist", digits="0,12")
    with pytest.raises(DatasetError, match="threshold must lie in"):
        load_dataset("mnist", threshold=1.5)
    with pytest.raises(DatasetError, match="encoding must be 'binary' or 'spin'"):
        load_dataset("mnist", encoding="ternary")


def test_sklearn_digits():
    data = load_dataset("digits8", digits="0,1")
    assert data.data.shape[1] == 64 and data.display.shape == (8, 8)
    assert set(data.class_counts()) == {"0", "1"} and len(data.test) == round(0.2 * data.n_samples)


def test_bars4_has_the_14_vertical_bar_images_split_closed_under_negation():
    data = load_dataset("bars4", encoding="binary")
    images = data.data.reshape(-1, 4, 4)
    assert len(images) == 14 and len({im.tobytes() for im in images}) == 14
    assert np.all(images == images[:, :1, :])  # every row the same: vertical bars only
    assert (len(data.train), len(data.test)) == (10, 4)
    for part in (data.train, data.test):
        rows = {r.tobytes() for r in data.data[part]}
        assert {(1 - r).astype(np.uint8).tobytes() for r in data.data[part]} == rows


def test_bars_and_stripes12():
    data = load_dataset("bars_stripes12")
    assert data.data.shape == (8188, 144) and data.class_counts() == {"bars": 4094, "stripes": 4094}
    assert len(data.test) == 1638 and set(np.unique(data.data)) == {-1, 1}
    test = {r.tobytes() for r in data.data[data.test]}
    assert {(-r).tobytes() for r in data.data[data.test]} == test


def test_stratified_split_counts():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = stratified_split(labels, 10, seed=3)
    assert np.bincount(labels[test]).tolist() == [5, 3, 2] and len(train) == 90


def test_registry_lists_and_refuses_unknowns():
    names = {entry.name for entry in list_datasets()}
    assert {"mnist", "digits8", "bars4", "bars_stripes12", "faces", "celeba", "ww_domain", "alignment"} <= names
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'; available: .*mnist"):
        load_dataset("cifar")
    with pytest.raises(DatasetError, match="dataset 'mnist' has no option colour; its options: digits='all'"):
        load_dataset("mnist", colour=True)


def test_listing_the_datasets_imports_no_loader_module():
    """The table is resolved lazily: names and descriptions come without importing scikit-learn, PIL or the
    loaders; asking for a dataset's options imports its module, and only that one."""
    probe = ("import sys; from rbm_explorer.datasets import list_datasets, dataset_entry;"
             "names = [e.name + e.description for e in list_datasets()];"
             "loaded = lambda: sorted(m for m in sys.modules if m.startswith('rbm_explorer.datasets.'));"
             "before = loaded(); dataset_entry('bars4').options(); print(before, loaded())")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    before, after = out.strip().split("] [")
    assert "bars" not in before and "mnist" not in before and "faces" not in before
    assert "rbm_explorer.datasets.bars" in after and "mnist" not in after and "celeba" not in after


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_table_entry_resolves_to_a_keyword_only_loader(name):
    entry = dataset_entry(name)
    assert entry.name == name and entry.description
    assert callable(entry.loader) and entry.loader.__module__.startswith("rbm_explorer.datasets.")
    parameters = inspect.signature(entry.loader).parameters.values()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters), "load_dataset passes options by name"
    assert list(entry.options()) == [p.name for p in parameters]


def test_a_dataset_added_to_the_table_at_run_time_loads(monkeypatch, tmp_path):
    """One line in ``DATASETS`` adds a dataset; the loader may live outside the package (an absolute module
    path), and its keyword options are checked like any other."""
    (tmp_path / "toy_loader.py").write_text(
        "import numpy as np\n"
        "from rbm_explorer.datasets.base import Dataset, Display\n"
        "def load(*, n=4):\n"
        "    return Dataset(name='toy', data=np.eye(n, dtype=np.float32), labels=np.arange(n),\n"
        "                   label_names=tuple('abcd'[:n]), train=np.arange(n - 1), test=np.array([n - 1]),\n"
        "                   display=Display('image', (1, n)), encoding='binary')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(DATASETS, "toy", DatasetEntry("toy", "toy_loader:load", "four one-hot rows"))
    assert "toy" in {entry.name for entry in list_datasets()}
    dataset = load_dataset("toy", n=3)
    assert isinstance(dataset, Dataset) and dataset.data.shape == (3, 3)
    with pytest.raises(DatasetError, match="dataset 'toy' has no option m; its options: n=4"):
        load_dataset("toy", m=1)
