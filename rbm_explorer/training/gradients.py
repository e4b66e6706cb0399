"""Log-likelihood gradients of an RBM from a positive (data) and a negative (model) sample.

d log P / d W = <f(v) E[h|v]>_data - <f(v) E[h|v]>_model, d/d g = <f(v)>_data - <f(v)>_model,
d/d theta = <E[h|v]>_data - <E[h|v]>_model (PAPERS.md section 0). Using the conditional means E[h|v] in both
phases (rather than sampled h) removes the hidden-layer sampling noise from the estimate. ``weights`` lets
data samples count unequally (protein sequence weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rbm_explorer.rbm import RBM


@dataclass
class Moments:
    """First and second moments of a sample in feature form: <f>, <E[h|v]>, <f E[h|v]^T>."""

    visible: np.ndarray
    hidden: np.ndarray
    cross: np.ndarray


def moments(rbm: RBM, features: np.ndarray, weights: np.ndarray | None = None) -> Moments:
    """Moments of visible feature rows (n x n_features) under ``rbm``'s hidden conditional means."""
    inputs = features @ rbm.weight_matrix
    mean_h = rbm.hidden.mean_from_inputs(inputs)
    if weights is None:
        w = np.full(len(features), 1.0 / len(features))
    else:
        w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    return Moments(w @ features, w @ mean_h, (features * w[:, None]).T @ mean_h)


@dataclass
class Gradient:
    """Ascent direction for (weight_matrix, visible feature fields, hidden fields)."""

    weights: np.ndarray
    visible_fields: np.ndarray
    hidden_fields: np.ndarray

    def as_list(self) -> list[np.ndarray]:
        return [self.weights, self.visible_fields, self.hidden_fields]


def likelihood_gradient(rbm: RBM, positive: Moments, negative: Moments) -> Gradient:
    return Gradient(
        positive.cross - negative.cross,
        positive.visible - negative.visible,
        positive.hidden - negative.hidden,
    )
