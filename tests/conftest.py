"""Shared fixtures: tiny random RBMs of every unit-kind combination, and the browser gate."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_support import browser_unavailable_reason  # noqa: E402

from rbm_explorer.layers import Binary, Gaussian, Label, Potts, Spin  # noqa: E402
from rbm_explorer.rbm import RBM  # noqa: E402

VISIBLE_KINDS = ["binary", "spin", "potts"]
HIDDEN_KINDS = ["binary", "spin"]


def make_layer(kind: str, n: int, rng: np.random.Generator, q: int = 3, scale: float = 0.5):
    if kind == "potts":
        return Potts(scale * rng.standard_normal((n, q)))
    cls = {"binary": Binary, "spin": Spin, "gaussian": Gaussian}[kind]
    return cls(scale * rng.standard_normal(n))


def tiny_rbm(visible_kind: str, hidden_kind: str, seed: int = 0, n_visible: int | None = None, n_hidden: int = 3,
             label_classes: int = 0, weight_scale: float = 0.8) -> RBM:
    """A small RBM with non-trivial correlations: 6 two-state visibles (64 states) or 4 Potts sites, q = 3
    (81 states)."""
    rng = np.random.default_rng(seed)
    n_visible = n_visible or (4 if visible_kind == "potts" else 6)
    visible = make_layer(visible_kind, n_visible, rng)
    hidden = make_layer(hidden_kind, n_hidden, rng)
    shape = (n_visible, visible.q, n_hidden) if visible_kind == "potts" else (n_visible, n_hidden)
    weights = weight_scale * rng.standard_normal(shape)
    if label_classes:
        label = Label(0.3 * rng.standard_normal(label_classes))
        return RBM(visible, hidden, weights, label, weight_scale * rng.standard_normal((label_classes, n_hidden)))
    return RBM(visible, hidden, weights)


def pytest_collection_modifyitems(config, items):
    reason = browser_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but the browser tests cannot run: {reason}")
    print(f"\nSkipping browser tests: {reason}", file=sys.stderr)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
