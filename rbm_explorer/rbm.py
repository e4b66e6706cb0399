"""The restricted Boltzmann machine, generic over unit kinds.

E(v, h, l) = E_v(v) + E_h(h) + E_l(l) - f(v) . W h - onehot(l) . D h   (Fernandez-de-Cossio-Diaz, Cocco and
Monasson (2023), Eq. 2, with each layer's term given by its unit kind; the label term is Carbone, Decelle,
Rosset and Seoane (2023), Eq. 2). ``f(v)`` are the visible features (v itself, or one-hot for Potts). Nothing
here looks at the unit kind: the layers supply energies, log-partitions and samplers. Batched arrays are
batch-first.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.layers import Label, Layer


class RBM:
    """Visible layer, hidden layer, weights and an optional label unit.

    Parameters
    ----------
    visible, hidden : Layer
    weights : array, (n_visible, n_hidden), or (n_visible, q, n_hidden) for Potts visibles.
    label : Label, optional
    label_weights : array (n_classes, n_hidden), required with ``label``.
    """

    def __init__(self, visible: Layer, hidden: Layer, weights, label: Label | None = None, label_weights=None):
        weights = np.asarray(weights, dtype=np.float64)
        expected = (visible.n_features, hidden.n_units)
        if visible.n_units == 0 or hidden.n_units == 0:
            raise ValueError("an RBM needs at least one visible and one hidden unit")
        if weights.shape != visible.field_shape + (hidden.n_units,):
            raise ValueError(
                f"weights of shape {weights.shape} do not fit {visible.n_units} {visible.kind} visible and "
                f"{hidden.n_units} {hidden.kind} hidden units"
            )
        for layer, role in ((visible, "visible"), (hidden, "hidden"), (label, "label")):
            if layer is not None and role not in layer.roles:
                raise ValueError(f"{layer.kind} units are not supported in the {role} layer")
        self.visible = visible
        self.hidden = hidden
        self.weights = weights
        self.weight_matrix = weights.reshape(expected)
        self.label = label
        if label is None:
            if label_weights is not None:
                raise ValueError("label_weights given without a label unit")
            self.label_weights = None
        else:
            label_weights = np.asarray(label_weights, dtype=np.float64)
            if label_weights.shape != (label.n_classes, hidden.n_units):
                raise ValueError(
                    f"label_weights must be {label.n_classes} x {hidden.n_units}, got {label_weights.shape}"
                )
            self.label_weights = label_weights

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["weight_matrix"]  # a view of ``weights``; rebuilt on unpickling so updates reach both
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.weight_matrix = self.weights.reshape(self.visible.n_features, self.hidden.n_units)

    # --- sizes -------------------------------------------------------------------------------------------
    @property
    def n_visible(self) -> int:
        return self.visible.n_units

    @property
    def n_hidden(self) -> int:
        return self.hidden.n_units

    def __repr__(self):
        label = f", label={self.label.n_classes} classes" if self.label is not None else ""
        return f"RBM({self.n_visible} {self.visible.kind} visible, {self.n_hidden} {self.hidden.kind} hidden{label})"

    # --- inputs ------------------------------------------------------------------------------------------
    def _label_rows(self, label) -> np.ndarray:
        if self.label is None:
            raise ValueError("this RBM has no label unit")
        return self.label_weights[np.asarray(label, dtype=np.intp).reshape(-1)]

    def inputs_h_from_v(self, v, label=None) -> np.ndarray:
        """I_mu(v) = sum_i W_i,mu v_i (+ d_l,mu with a label). (batch x n_hidden), float64."""
        inputs = self.visible.features(v) @ self.weight_matrix
        if label is not None:
            inputs = inputs + self._label_rows(label)
        return inputs

    def inputs_v_from_h(self, h) -> np.ndarray:
        """Inputs of the visible features, sum_mu W_i,mu h_mu. (batch x n_visible features), float64."""
        return self.hidden.features(h) @ self.weight_matrix.T

    def inputs_label_from_h(self, h) -> np.ndarray:
        """Inputs of the label states, sum_mu d_m,mu h_mu. (batch x n_classes), float64."""
        if self.label is None:
            raise ValueError("this RBM has no label unit")
        return self.hidden.features(h) @ self.label_weights.T

    # --- energies ----------------------------------------------------------------------------------------
    def energy(self, v, h, label=None) -> np.ndarray:
        """E(v, h[, l]) per sample, float64."""
        hf = self.hidden.features(h)
        e = self.visible.energy(v) + self.hidden.energy(h) - np.einsum("bm,bm->b", self.inputs_h_from_v(v), hf)
        if label is not None:
            e = e + self.label.energy(label) - np.einsum("bm,bm->b", self._label_rows(label), hf)
        return e

    def free_energy_v(self, v, label=None) -> np.ndarray:
        """F(v[, l]) = E_v(v) [+ E_l(l)] - Gamma_h(I(v[, l])), the hidden layer summed out. float64.

        Without ``label`` on a labelled RBM the label is summed out as well.
        """
        if self.label is not None and label is None:
            labels = self.label.all_states()
            per_label = np.stack([self.free_energy_v(v, np.full(len(self.visible.features(v)), lab)) for lab in labels])
            return -_logsumexp0(-per_label)
        e = self.visible.energy(v) - self.hidden.cgf(self.inputs_h_from_v(v, label))
        if label is not None:
            e = e + self.label.energy(label)
        return e

    def free_energy_h(self, h) -> np.ndarray:
        """F(h) = E_h(h) - Gamma_v(inputs_v(h)) [- Gamma_l(inputs_l(h))]: visible (and label) summed out."""
        f = self.hidden.energy(h) - self.visible.cgf(self.inputs_v_from_h(h))
        if self.label is not None:
            f = f - self.label.cgf(self.inputs_label_from_h(h))
        return f

    # --- conditionals ------------------------------------------------------------------------------------
    def mean_h_from_v(self, v, label=None, beta: float = 1.0) -> np.ndarray:
        return self.hidden.mean_from_inputs(self.inputs_h_from_v(v, label), beta)

    def mean_v_from_h(self, h, beta: float = 1.0) -> np.ndarray:
        return self.visible.mean_from_inputs(self.inputs_v_from_h(h), beta)

    # --- symmetries --------------------------------------------------------------------------------------
    def flip_hidden_unit(self, unit: int) -> None:
        """Relabel the states of hidden unit ``unit`` in place, h -> c - h with c = ``hidden.mirror_sum``,
        without changing P(v) or P(v, l).

        Substituting h = c - h' in E: theta -> -theta, w -> -w, d -> -d, and the constant c moves into the
        fields of the other layers, g -> g + c w and label fields -> + c d. For binary units (c = 1) that is
        h -> 1 - h; for spins and Gaussians (c = 0) only signs change.
        """
        c = self.hidden.mirror_sum
        if c is None:
            raise ValueError(f"cannot flip {self.hidden.kind} hidden units")
        unit = int(unit)
        if not 0 <= unit < self.n_hidden:
            raise ValueError(f"hidden unit {unit} out of range 0..{self.n_hidden - 1}")
        w = self.weight_matrix[:, unit].copy()
        if c:
            self.visible.fields[...] += c * w.reshape(self.visible.field_shape)
        self.weight_matrix[:, unit] = -w
        self.hidden.fields[unit] = -self.hidden.fields[unit]
        if self.label is not None:
            d = self.label_weights[:, unit].copy()
            if c:
                self.label.fields[...] += c * d.reshape(self.label.field_shape)
            self.label_weights[:, unit] = -d


def _logsumexp0(a):
    top = a.max(axis=0)
    return top + np.log(np.exp(a - top).sum(axis=0))
