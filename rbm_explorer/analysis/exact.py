"""Exact results for small RBMs by enumerating one layer (float64 throughout).

log Z = log sum_v exp(-F(v)) = log sum_h exp(-F(h)); computing it both ways is a strong check of the free
energies. The exact visible distribution, optionally conditioned on clamped hidden units or a fixed label,
is the reference for the sampler tests.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from rbm_explorer.rbm import RBM

_CHUNK = 1 << 14


def _chunked(fn, states):
    return np.concatenate([fn(states[i : i + _CHUNK]) for i in range(0, len(states), _CHUNK)])


def log_partition_exact(rbm: RBM, over: str = "visible") -> float:
    """log Z by enumerating the visible (``over='visible'``) or hidden (``'hidden'``) layer.

    The label unit, if any, is summed out. The enumerated layer must be discrete and small.
    """
    if over == "visible":
        states = rbm.visible.all_states()
        neg_f = -_chunked(rbm.free_energy_v, states)
    elif over == "hidden":
        states = rbm.hidden.all_states()
        neg_f = -_chunked(rbm.free_energy_h, states)
    else:
        raise ValueError(f"over must be 'visible' or 'hidden', got {over!r}")
    return float(logsumexp(neg_f))


def log_prob_visible_exact(
    rbm: RBM, clamped_hidden: dict[int, float] | None = None, label: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every visible state and its exact log-probability, optionally given clamped hidden units.

    With ``clamped_hidden = {mu: value}``: log P(v | h_c) = -E_v(v) + sum_{mu in c} [I_mu(v) h_mu - E_h(h_mu)]
    + Gamma_free(I(v)) - const; the free hidden units (and the label, unless ``label`` fixes it) are
    summed out.

    Returns
    -------
    states : (K x n_visible) natural states
    log_p : (K,) normalised log-probabilities
    """
    clamped_hidden = clamped_hidden or {}
    units = np.array(sorted(clamped_hidden), dtype=np.intp)
    values = np.array([clamped_hidden[u] for u in units], dtype=np.float64)
    if units.size:
        rbm.hidden.check_values(values)
    free = np.setdiff1d(np.arange(rbm.n_hidden), units)
    fields = rbm.hidden.fields
    free_layer = rbm.hidden.with_fields(fields[free])
    clamped_layer = rbm.hidden.with_fields(fields[units])
    clamped_feats = clamped_layer.encode_units(values[None, :])

    def unnormalised(states, lab):
        inputs = rbm.inputs_h_from_v(states, None if lab is None else np.full(len(states), lab))
        out = -rbm.visible.energy(states) + free_layer.cgf(inputs[:, free])
        if units.size:
            out += inputs[:, units] @ clamped_feats[0] - clamped_layer.energy(values[None, :])[0]
        if lab is not None:
            out -= rbm.label.energy(np.array([lab]))[0]
        return out

    states = rbm.visible.all_states()
    if rbm.label is not None and label is None:
        per_label = [_chunked(lambda s, lab=lab: unnormalised(s, lab), states) for lab in rbm.label.all_states()]
        log_w = logsumexp(np.stack(per_label), axis=0)
    else:
        log_w = _chunked(lambda s: unnormalised(s, label), states)
    return states, log_w - logsumexp(log_w)


def state_index(rbm: RBM, v) -> np.ndarray:
    """Index of each natural visible state in the order of ``rbm.visible.all_states()``."""
    return rbm.visible.state_index(np.asarray(v).reshape(-1, rbm.n_visible))
