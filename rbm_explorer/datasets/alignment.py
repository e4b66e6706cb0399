"""Protein sequence alignments: FASTA/A2M and Stockholm readers, gap-column filtering, sequence weights.

States
    Each aligned position becomes one Potts state in 0..20 over ``ALPHABET = "-ACDEFGHIKLMNPQRSTVWY"``: the gap
    ``-`` is state 0, the 20 amino acids follow in alphabetical order of their one-letter codes.

Insert positions (A2M / Pfam convention)
    Uppercase letters and ``-`` are match positions; lowercase letters and ``.`` are insert positions, residues
    (or padding) that the profile does not align. Inserts are dropped from every sequence, so only match
    positions remain, and all sequences must then have the same number of them. This is what makes both unpadded
    A2M (rows of different raw lengths) and Pfam's padded files (``.`` filling the insert columns) align.

Unknown letters
    Any other match character (``B``, ``Z``, ``X``, ``J``, ``U``, ``O``, digits, ``*`` ...) is an error naming
    the letter, the sequence and the 1-based position in the row as written, unless ``unknown="gap"`` reads them
    as gaps.

Files may be gzip-compressed (detected from the magic bytes). The format is taken from the extension or, failing
that, sniffed from the first line (``# STOCKHOLM`` header, else FASTA).
"""

from __future__ import annotations

import gzip
import math
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rbm_explorer._kernels.sequences import neighbour_counts_into
from rbm_explorer.datasets.base import DatasetError

ALPHABET = "-ACDEFGHIKLMNPQRSTVWY"
GAP = 0
Q = len(ALPHABET)

FASTA_SUFFIXES = (".fa", ".fasta", ".fas", ".faa", ".afa", ".a2m", ".mfa")
STOCKHOLM_SUFFIXES = (".sto", ".stk", ".sth", ".stockholm")
UNKNOWN_MODES = ("error", "gap")

_DROP_INSERTS = str.maketrans("", "", string.ascii_lowercase + ".")
_LOOKUP = np.full(256, -1, dtype=np.int16)
_LOOKUP[np.frombuffer(ALPHABET.encode(), np.uint8)] = np.arange(Q)


@dataclass(frozen=True)
class Alignment:
    """Named sequences as int8 (n, L) states over ``ALPHABET``, match positions only.

    ``raw_length`` is the common width of the rows as written (inserts included), or None when rows differ
    (unpadded A2M); ``n_unknown`` counts letters read as gaps with ``unknown="gap"``.
    """

    names: tuple[str, ...]
    states: np.ndarray
    raw_length: int | None
    format: str
    n_unknown: int = 0


# ---------------------------------------------------------------- reading


def read_alignment(path, *, unknown: str = "error") -> Alignment:
    """Read a FASTA/A2M or Stockholm alignment file (optionally gzipped) into states."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"alignment file not found: {path}")
    lines = _read_lines(path)
    fmt = alignment_format(path, lines)
    records = parse_stockholm(lines) if fmt == "stockholm" else parse_fasta(lines)
    if not records:
        raise DatasetError(f"no sequences in {path} (read as {fmt})")
    return encode_records(records, unknown=unknown, fmt=fmt)


def _read_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DatasetError(f"{path} looks gzip-compressed but cannot be decompressed: {error}") from None
    return raw.decode("utf-8", errors="replace").splitlines()


def alignment_format(path: Path, lines: list[str]) -> str:
    """``"fasta"`` or ``"stockholm"``: from the extension (``.gz`` ignored), else from the first non-blank line."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in STOCKHOLM_SUFFIXES:
        return "stockholm"
    if suffixes and suffixes[-1] in FASTA_SUFFIXES:
        return "fasta"
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.upper().startswith("# STOCKHOLM"):
        return "stockholm"
    if first.startswith((">", "#", ";")):
        return "fasta"
    raise DatasetError(
        f"cannot tell the format of {path}: expected a FASTA file ('>' headers) or a Stockholm file "
        f"('# STOCKHOLM 1.0' header), or an extension among {FASTA_SUFFIXES + STOCKHOLM_SUFFIXES}"
    )


def parse_fasta(lines: list[str]) -> list[tuple[str, str]]:
    """(name, aligned row) pairs. The name is the header's first word; ``#`` and ``;`` lines are comments."""
    records: list[list] = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith(">"):
            words = stripped[1:].split()
            records.append([words[0] if words else f"sequence {len(records) + 1}", []])
        elif not records:
            raise DatasetError(f"line {number}: sequence data before the first '>' header")
        else:
            records[-1][1].append("".join(stripped.split()))
    return [(name, "".join(parts)) for name, parts in records]


def parse_stockholm(lines: list[str]) -> list[tuple[str, str]]:
    """(name, aligned row) pairs of the first alignment in a Stockholm file.

    ``#`` lines (the ``# STOCKHOLM 1.0`` header, ``#=GF``/``#=GS``/``#=GR``/``#=GC`` annotation) and blank lines
    are skipped; a name seen again in a later block of an interleaved file is continued; reading stops at ``//``.
    """
    rows: dict[str, list[str]] = {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped == "//":
            break
        words = stripped.split()
        if len(words) < 2:
            raise DatasetError(f"line {number}: expected '<name> <aligned sequence>', got {stripped[:60]!r}")
        rows.setdefault(words[0], []).append("".join(words[1:]))
    return [(name, "".join(parts)) for name, parts in rows.items()]


def encode_records(records: list[tuple[str, str]], *, unknown: str = "error", fmt: str = "fasta") -> Alignment:
    """Drop insert positions, check equal lengths and map letters to states (see the module docstring)."""
    if unknown not in UNKNOWN_MODES:
        raise DatasetError(f"unknown must be one of {UNKNOWN_MODES}, got {unknown!r}")
    names = tuple(name for name, _ in records)
    matches = [row.translate(_DROP_INSERTS) for _, row in records]
    length = len(matches[0])
    for name, match in zip(names, matches):
        if len(match) != length:
            raise DatasetError(
                f"sequence {name!r} has {len(match)} aligned positions but {names[0]!r} has {length} "
                "(insert positions, lowercase letters and '.', are not counted)"
            )
    if length == 0:
        raise DatasetError("the alignment has no match positions (every position is an insert or empty)")
    buffer = "".join(matches).encode("ascii", errors="replace")
    states = _LOOKUP[np.frombuffer(buffer, np.uint8)].reshape(len(names), length)
    bad = states < 0
    n_unknown = int(bad.sum())
    if n_unknown and unknown == "error":
        i, k = (int(v) for v in np.argwhere(bad)[0])
        letter, position = _raw_position(records[i][1], k)
        raise DatasetError(
            f"unknown letter {letter!r} in sequence {names[i]!r} at position {position} "
            f"({n_unknown} unknown letter{'s' if n_unknown > 1 else ''} in all); the alphabet is {ALPHABET!r} with "
            "inserts in lowercase or '.'; use unknown='gap' to read unknown letters as gaps"
        )
    states[bad] = GAP
    raw_lengths = {len(row) for _, row in records}
    raw_length = raw_lengths.pop() if len(raw_lengths) == 1 else None
    return Alignment(names, states.astype(np.int8), raw_length, fmt, n_unknown)


def _raw_position(row: str, match_index: int) -> tuple[str, int]:
    """The character and 1-based position in ``row`` as written of its ``match_index``-th match position."""
    seen = -1
    for position, char in enumerate(row, 1):
        if not (char == "." or char in string.ascii_lowercase):
            seen += 1
            if seen == match_index:
                return char, position
    raise IndexError(match_index)


# ---------------------------------------------------------------- columns and weights


def gap_fractions(states: np.ndarray) -> np.ndarray:
    """Fraction of sequences with a gap, per column (unweighted)."""
    return (np.asarray(states) == GAP).mean(axis=0)


def filter_gap_columns(states: np.ndarray, max_gap_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(states of the kept columns, kept column indices): columns with more than ``max_gap_fraction`` gaps go.

    The fraction is unweighted, so the kept columns do not depend on the weights, which are computed on them.
    """
    if not 0.0 <= max_gap_fraction <= 1.0:
        raise DatasetError(f"max_gap_fraction must be in [0, 1], got {max_gap_fraction!r}")
    kept = np.flatnonzero(gap_fractions(states) <= max_gap_fraction)
    if kept.size == 0:
        raise DatasetError(f"every column has more than {max_gap_fraction:.0%} gaps; raise max_gap_fraction")
    return np.ascontiguousarray(states[:, kept]), kept


def max_mismatches(length: int, identity_threshold: float) -> int:
    """Largest Hamming distance counted as a neighbour: floor(identity_threshold * L), e.g. 6 of 30 for 0.2."""
    if not 0.0 <= identity_threshold < 1.0:
        raise DatasetError(f"identity_threshold must be in [0, 1), got {identity_threshold!r}")
    return int(math.floor(identity_threshold * length + 1e-9))


def neighbour_counts(states: np.ndarray, identity_threshold: float = 0.2) -> np.ndarray:
    """Per sequence, how many sequences (itself included) differ at <= ``identity_threshold`` of the columns.

    Gaps count like any state. With 0.2 this is the usual "at least 80 % identity" clustering of protein
    statistics (DCA, protein RBMs). Numba kernel, O(n^2 L) time and O(n) memory.
    """
    states = np.ascontiguousarray(states, dtype=np.int8)
    counts = np.empty(len(states), dtype=np.float64)
    neighbour_counts_into(states, np.int64(max_mismatches(states.shape[1], identity_threshold)), counts)
    return counts


def sequence_weights(states: np.ndarray, identity_threshold: float = 0.2) -> np.ndarray:
    """w_n = 1 / neighbour count, in (0, 1]: a cluster of near-identical sequences weighs about one sequence."""
    return 1.0 / neighbour_counts(states, identity_threshold)


def effective_number(weights: np.ndarray) -> float:
    """B_eff = sum of the sequence weights, the number of effectively distinct sequences."""
    return float(np.sum(weights))


def balance_weights(labels: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-sample weights giving every class present the same total weight, with the overall total unchanged.

    Sample n of class c gets ``weights[n] * W / (K * W_c)``, where W is the total weight, W_c the class total and
    K the number of classes with positive total; so each class totals W / K and relative weights inside a class
    are kept. ``weights=None`` means all ones (each class then totals n / K).
    """
    labels = np.asarray(labels)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != labels.shape:
        raise DatasetError(f"{len(weights)} weights for {len(labels)} labels")
    classes, inverse = np.unique(labels, return_inverse=True)
    totals = np.bincount(inverse, weights=weights, minlength=len(classes))
    present = totals > 0
    scale = np.zeros_like(totals)
    scale[present] = weights.sum() / (present.sum() * totals[present])
    return weights * scale[inverse]
