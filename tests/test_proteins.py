"""Protein alignments: FASTA/Stockholm parsing, insert and gap columns, sequence weights, balancing, logos, the
bundled WW domain alignment and the error messages."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from PIL import Image

from rbm_explorer._kernels.sequences import neighbour_counts_into
from rbm_explorer.datasets import DatasetError
from rbm_explorer.datasets.alignment import (
    ALPHABET,
    balance_weights,
    effective_number,
    filter_gap_columns,
    read_alignment,
    sequence_weights,
)
from rbm_explorer.datasets.logo import column_frequencies, information_content, logo_heights, render_logo_png
from rbm_explorer.datasets.proteins import load_alignment, load_ww_domain
from rbm_explorer.datasets.registry import DATASETS
from rbm_explorer.resources import assets_dir

# Rows as written: two insert columns after the second position (lowercase / '.'), eight match columns, the
# fourth match column mostly gaps.
ROWS = {
    "s1/1-7": "AC..D-EFGH",
    "s2/1-9": "ACkrD-EFGW",
    "s3/1-8": "ACm.E-EFGH",
    "s4/1-8": "AK..DYEFGH",
    "s5/1-7": "WC..D-QFGH",
    "s6/1-6": "AC..D-EFG-",
}
MATCHES = {name: row.replace(".", "").translate(str.maketrans("", "", "kmr")) for name, row in ROWS.items()}


def write_fasta(path, rows=ROWS):
    lines = ["# a comment line", ""]
    for name, row in rows.items():
        lines += [f">{name} some description", row[:4], row[4:]]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_stockholm(path, rows=ROWS):
    """Interleaved: two blocks, with every kind of annotation line."""
    lines = ["# STOCKHOLM 1.0", "#=GF ID   toy", "#=GF AC   PF99999", ""]
    lines += [f"#=GS {name} AC Q{i}" for i, name in enumerate(rows)] + [""]
    for block in (slice(0, 5), slice(5, None)):
        for name, row in rows.items():
            lines.append(f"{name:<10} {row[block]}")
        lines.append(f"#=GR {next(iter(rows))} SS {'H' * len(row[block])}")
        lines.append(f"#=GC seq_cons{' ' * 2}{'x' * len(row[block])}")
        lines.append("")
    lines += ["//", "# STOCKHOLM 1.0", "ignored  ACDE", "//"]
    path.write_text("\n".join(lines) + "\n")
    return path


def states_of(text):
    return np.array([ALPHABET.index(c) for c in text], dtype=np.int8)


def brute_force_weights(states, threshold):
    distance = (states[:, None, :] != states[None, :, :]).sum(axis=2)
    return 1.0 / (distance <= np.floor(threshold * states.shape[1] + 1e-9)).sum(axis=1)


# ---------------------------------------------------------------- parsing


def test_fasta_and_interleaved_stockholm_parse_to_the_same_states(tmp_path):
    fasta = read_alignment(write_fasta(tmp_path / "toy.fasta"))
    stockholm = read_alignment(write_stockholm(tmp_path / "toy.sto"))
    assert fasta.names == stockholm.names == tuple(ROWS)
    assert fasta.format == "fasta" and stockholm.format == "stockholm"
    assert fasta.states.dtype == np.int8 and fasta.states.shape == (6, 8)
    np.testing.assert_array_equal(fasta.states, stockholm.states)
    np.testing.assert_array_equal(fasta.states, np.stack([states_of(m) for m in MATCHES.values()]))
    assert fasta.raw_length == 10


def test_format_sniffing_and_gzip(tmp_path):
    fasta = write_fasta(tmp_path / "a.txt")
    stockholm = write_stockholm(tmp_path / "b.txt")
    packed = tmp_path / "c.fa.gz"
    packed.write_bytes(gzip.compress(fasta.read_bytes()))
    reference = read_alignment(fasta).states
    assert read_alignment(fasta).format == "fasta" and read_alignment(stockholm).format == "stockholm"
    np.testing.assert_array_equal(read_alignment(stockholm).states, reference)
    np.testing.assert_array_equal(read_alignment(packed).states, reference)


def test_unpadded_a2m_rows_of_different_raw_lengths_align(tmp_path):
    path = tmp_path / "x.a2m"
    path.write_text(">a\nACgggD\n>b\nA-D\n>c\nqACDq\n")
    alignment = read_alignment(path)
    assert alignment.raw_length is None
    np.testing.assert_array_equal(alignment.states, np.stack([states_of("ACD"), states_of("A-D"), states_of("ACD")]))


def test_gap_columns_are_removed(tmp_path):
    states = read_alignment(write_fasta(tmp_path / "toy.fa")).states
    kept_states, kept = filter_gap_columns(states, 0.5)
    np.testing.assert_array_equal(kept, [0, 1, 2, 4, 5, 6, 7])
    np.testing.assert_array_equal(kept_states, states[:, kept])
    np.testing.assert_array_equal(filter_gap_columns(states, 5 / 6)[1], np.arange(8))  # "more than" is strict
    with pytest.raises(DatasetError, match="max_gap_fraction"):
        filter_gap_columns(states, 1.5)


# ---------------------------------------------------------------- weights and balancing


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.5])
def test_weights_match_a_brute_force_count(threshold):
    rng = np.random.default_rng(1)
    ancestors = rng.integers(0, 21, (8, 25))
    states = ancestors[rng.integers(0, 8, 300)]
    mutate = rng.random(states.shape) < 0.15
    states[mutate] = rng.integers(0, 21, mutate.sum())
    states = states.astype(np.int8)
    weights = sequence_weights(states, threshold)
    np.testing.assert_array_equal(weights, brute_force_weights(states, threshold))
    assert effective_number(weights) == pytest.approx(brute_force_weights(states, threshold).sum())
    counts = np.empty(len(states))
    assert neighbour_counts_into(states, 0, counts) is counts and counts.min() >= 1


def test_weights_and_beff_of_the_toy_alignment(tmp_path):
    dataset = load_alignment(path=str(write_fasta(tmp_path / "toy.fa")), n_test=0.0)
    # 7 columns kept, neighbours within floor(0.2 * 7) = 1 mismatch: s1 has s2, s3, s4, s6; s2 has s1, s6;
    # s3 has s1; s4 has s1; s5 none (2 from s1); s6 has s1, s2.
    np.testing.assert_allclose(dataset.weights, [1 / 5, 1 / 3, 1 / 2, 1 / 2, 1, 1 / 3])
    np.testing.assert_array_equal(dataset.weights, brute_force_weights(dataset.data, 0.2))
    assert dataset.info["B_eff"] == pytest.approx(43 / 15)
    assert len(dataset.test) == 0 and len(dataset.train) == 6


def test_balancing_gives_every_class_the_same_total():
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = np.array([1.0, 1.0, 2.0, 0.5, 0.25, 0.75])
    balanced = balance_weights(labels, weights)
    totals = np.bincount(labels, weights=balanced)
    np.testing.assert_allclose(totals, weights.sum() / 3)
    assert balanced.sum() == pytest.approx(weights.sum())
    np.testing.assert_allclose(balanced[:3] / balanced[0], weights[:3] / weights[0])  # order inside a class kept
    np.testing.assert_allclose(np.bincount([0, 0, 1], weights=balance_weights(np.array([0, 0, 1]))), [1.5, 1.5])
    with_empty = balance_weights(np.array([0, 1, 1]), np.array([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(with_empty, [0.0, 1.0, 1.0])  # a class of zero total weight stays at zero


# ---------------------------------------------------------------- logo


def test_logo_heights_of_conserved_and_uniform_columns():
    states = np.stack([np.full(21, 3), np.arange(21)], axis=1).astype(np.int8)  # column 0 all 'D', column 1 uniform
    heights = logo_heights(states)
    assert heights.shape == (2, 21)
    assert heights[0, 3] == pytest.approx(np.log2(21)) and heights[0].sum() == pytest.approx(np.log2(21))
    assert heights[1].sum() == pytest.approx(0.0, abs=1e-12)
    smoothed = logo_heights(states, pseudocount=0.05)
    assert 0 < smoothed[0].sum() < np.log2(21)
    weights = np.r_[np.full(20, 1e-9), 1.0]  # weighting towards the last sequence makes column 1 conserved
    assert logo_heights(states, weights)[1].sum() == pytest.approx(np.log2(21), rel=1e-6)
    freqs = column_frequencies(states, pseudocount=0.1)
    np.testing.assert_allclose(freqs.sum(axis=1), 1.0)
    np.testing.assert_allclose(information_content(freqs), logo_heights(states, pseudocount=0.1).sum(axis=1))


# ---------------------------------------------------------------- errors


def test_unknown_letters_name_the_letter_the_sequence_and_the_position(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text(">ok\nACDE\n>bad/3-6\nA..CBE\n")
    with pytest.raises(DatasetError, match=r"unknown letter 'B' in sequence 'bad/3-6' at position 5"):
        read_alignment(path)
    np.testing.assert_array_equal(read_alignment(path, unknown="gap").states[1], states_of("AC-E"))
    path.write_text(">digits\nAC9E\n")
    with pytest.raises(DatasetError, match=r"'9' in sequence 'digits' at position 3"):
        read_alignment(path)
    with pytest.raises(DatasetError, match="unknown must be"):
        read_alignment(path, unknown="drop")


def test_unequal_lengths_name_the_sequence(tmp_path):
    path = tmp_path / "ragged.sto"
    path.write_text("# STOCKHOLM 1.0\nfirst  ACDE\nshort  AC-\n//\n")
    with pytest.raises(DatasetError, match="sequence 'short' has 3 aligned positions but 'first' has 4"):
        read_alignment(path)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    with pytest.raises(DatasetError, match="no sequences"):
        read_alignment(empty)
    comments = tmp_path / "comments.sto"
    comments.write_text("# STOCKHOLM 1.0\n#=GF ID x\n//\n")
    with pytest.raises(DatasetError, match="no sequences"):
        read_alignment(comments)
    with pytest.raises(DatasetError, match="needs path"):
        load_alignment()
    with pytest.raises(DatasetError, match="not found"):
        load_alignment(path=str(tmp_path / "nowhere.fa"))
    (tmp_path / "headless.fa").write_text("ACDE\n>x\nACDE\n")
    with pytest.raises(DatasetError, match="before the first '>'"):
        read_alignment(tmp_path / "headless.fa")


# ---------------------------------------------------------------- the bundled WW domain alignment


def recorded(field):
    text = (assets_dir() / "data" / "ww_domain_PF00397.md").read_text()
    return float(re.search(rf"^- {re.escape(field)}[^:\n]*: ([0-9.]+)", text, re.MULTILINE).group(1))


def test_ww_domain_dataset():
    dataset = load_ww_domain()
    assert dataset.n_samples == 4025 == recorded("sequences")
    assert dataset.info["n_columns_raw"] == 44 == recorded("columns as written")
    assert dataset.info["n_match_columns"] == 31 == recorded("match columns")
    assert dataset.n_features == 30 == recorded("columns kept")
    assert dataset.info["kept_columns"] == [c for c in range(31) if c != 12]
    assert dataset.data.dtype == np.int8 and dataset.encoding == "potts"
    assert dataset.display.kind == "sequence" and dataset.display.alphabet == ALPHABET
    assert dataset.label_names == ("WW",) and not dataset.labels.any()
    assert len(dataset.test) == 805 and len(dataset.train) == 3220
    np.testing.assert_array_equal(load_ww_domain().test, dataset.test)
    assert np.all(dataset.weights > 0) and np.all(dataset.weights <= 1)
    assert dataset.info["B_eff"] == pytest.approx(recorded("B_eff"), abs=0.005)
    assert dataset.info["n_unknown_as_gap"] == 1
    assert {"ww_domain", "alignment"} <= set(DATASETS)
    assert DATASETS["alignment"].options()["path"] is None


def test_ww_domain_reports_its_x_when_asked_to():
    with pytest.raises(DatasetError, match=r"'X' in sequence 'I2JUE5/3-28' at position 38"):
        load_ww_domain(unknown="error")


def test_ww_logo_png(tmp_path):
    dataset = load_ww_domain()
    heights = logo_heights(dataset.data, dataset.weights)
    assert heights.shape == (30, 21)
    w_columns = np.flatnonzero(heights[:, ALPHABET.index("W")] > 2.5)
    np.testing.assert_array_equal(np.asarray(dataset.info["kept_columns"])[w_columns], [4, 27])  # the two Ws
    path = render_logo_png(heights, tmp_path / "ww.png", ALPHABET, column_width=20, plot_height=150)
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[:2] == (14 + 150 + 30, 52 + 30 * 20 + 12)
    ink = (image < 200).any(axis=2)
    assert 0.05 < ink.mean() < 0.8
    purple = (np.abs(image.astype(int) - [130, 50, 170]).sum(axis=2) < 30).sum()
    assert purple > 500  # the W, F and Y stacks are drawn in their class colour
