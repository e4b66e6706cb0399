"""Protein alignment datasets: the bundled WW domain alignment and user alignment files, as Potts data.

Both loaders run the same pipeline (``alignment.py``): read, drop insert positions, drop columns with more than
``max_gap_fraction`` gaps, weight each sequence by 1 / its neighbours within ``identity_threshold`` Hamming
distance, optionally balance classes, and split off a deterministic test fraction (seed 0). Alignments carry no
classes, so every label is 0 and ``balance`` changes nothing until a loader supplies labels.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from rbm_explorer.datasets.alignment import (
    ALPHABET,
    FASTA_SUFFIXES,
    STOCKHOLM_SUFFIXES,
    Alignment,
    balance_weights,
    effective_number,
    filter_gap_columns,
    read_alignment,
    sequence_weights,
)
from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split
from rbm_explorer.resources import assets_dir

WW_FILE = "ww_domain_PF00397.fa.gz"
WW_SOURCE = (
    "Pfam PF00397 (WW domain) RP15 alignment, 4,025 sequences, as shipped in the PyPI package logomaker 0.8.7 "
    "(logomaker/examples/datafiles/ww_sequences.fa); see assets/data/ww_domain_PF00397.md"
)
WW_LICENCE = "Pfam data: CC0 1.0; file redistributed from logomaker 0.8.7 (MIT)"


def load_ww_domain(
    *,
    max_gap_fraction: float = 0.5,
    identity_threshold: float = 0.2,
    n_test: float = 0.2,
    unknown: str = "gap",
    balance: bool = False,
) -> Dataset:
    """The bundled WW domain alignment.

    ``unknown`` defaults to ``"gap"`` because the Pfam file holds one ``X`` (sequence I2JUE5/3-28, position 38);
    ``unknown="error"`` reports it.
    """
    path = assets_dir() / "data" / WW_FILE
    if not path.is_file():
        raise DatasetError(f"the bundled WW domain alignment is missing: {path}")
    options, defaults = _options(load_ww_domain, locals())
    alignment = read_alignment(path, unknown=unknown)
    return alignment_dataset(alignment, _name("ww_domain", options, defaults), ("WW",), options,
                             source=WW_SOURCE, licence=WW_LICENCE)


def load_alignment(
    *,
    path: str | None = None,
    max_gap_fraction: float = 0.5,
    identity_threshold: float = 0.2,
    n_test: float = 0.2,
    unknown: str = "error",
    balance: bool = False,
) -> Dataset:
    """A user alignment: format from the extension, else from the first line (see ``alignment.py``)."""
    if path is None or str(path).strip() == "":
        raise DatasetError(
            "dataset 'alignment' needs path=<file>: a FASTA/A2M or Stockholm alignment, optionally .gz"
        )
    path = Path(path).expanduser()
    options, defaults = _options(load_alignment, locals())
    del options["path"], defaults["path"]
    alignment = read_alignment(path, unknown=unknown)
    name = _name("alignment", {"path": path.name, **options}, defaults)
    return alignment_dataset(alignment, name, (_stem(path),), {"path": str(path), **options},
                             source=str(path), licence="user file")


def alignment_dataset(alignment: Alignment, name: str, label_names: tuple[str, ...], options: dict, *,
                      source: str, licence: str) -> Dataset:
    """Filter columns, weight, balance and split an alignment into a ``Dataset`` (all labels 0)."""
    n_test = options["n_test"]
    if not 0.0 <= n_test < 1.0:
        raise DatasetError(f"n_test is the test fraction, in [0, 1), got {n_test!r}")
    states, kept = filter_gap_columns(alignment.states, options["max_gap_fraction"])
    weights = sequence_weights(states, options["identity_threshold"])
    labels = np.zeros(len(states), dtype=np.int64)
    sample_weights = balance_weights(labels, weights) if options["balance"] else weights
    train, test = stratified_split(labels, int(round(n_test * len(states))), seed=0)
    info = {
        "source": source,
        "licence": licence,
        "format": alignment.format,
        "B_eff": effective_number(weights),
        "n_sequences": len(states),
        "n_columns_raw": alignment.raw_length,
        "n_match_columns": alignment.states.shape[1],
        "kept_columns": kept.tolist(),
        "n_unknown_as_gap": alignment.n_unknown,
        "sequence_names": alignment.names,
        "options": options,
    }
    return Dataset(name=name, data=states, labels=labels, label_names=label_names, train=train, test=test,
                   display=Display("sequence", alphabet=ALPHABET), encoding="potts", weights=sample_weights,
                   info=info)


def _options(loader, values: dict) -> tuple[dict, dict]:
    """(the loader's keyword options as called, their defaults), read from its signature."""
    params = [p for p in inspect.signature(loader).parameters.values() if p.kind is p.KEYWORD_ONLY]
    return {p.name: values[p.name] for p in params}, {p.name: p.default for p in params}


def _name(base: str, options: dict, defaults: dict) -> str:
    changed = [f"{k}={v}" for k, v in options.items() if k not in defaults or defaults[k] != v]
    return f"{base}({','.join(changed)})" if changed else base


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz",) + FASTA_SUFFIXES + STOCKHOLM_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "alignment"
