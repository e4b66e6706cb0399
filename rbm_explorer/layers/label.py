"""The categorical label unit of Carbone, Decelle, Rosset and Seoane (2023): one unit with D states, coupled to
the hidden layer only.

p(l = m | h) = softmax_m(c_m + sum_mu d_m,mu h_mu) (their Sec. 2.1, Eq. 2). It is a single Potts site whose
natural state is one integer per sample (shape (batch,)); ``fields`` has shape (D,).
"""

import numpy as np

from rbm_explorer.layers.base import register_layer
from rbm_explorer.layers.potts import Potts


@register_layer
class Label(Potts):
    kind = "label"
    roles = frozenset({"label"})

    def __init__(self, fields, q: int | None = None):
        fields = np.asarray(fields, dtype=np.float64)
        if fields.ndim != 1:
            raise ValueError(f"label fields must be 1-d (one per class), got shape {fields.shape}")
        super().__init__(fields[None, :], q=q)

    @property
    def n_classes(self) -> int:
        return self.q

    @property
    def feature_fields(self):
        return self.fields.reshape(-1)

    def with_fields(self, fields):
        return Label(fields)

    def natural_from_features(self, f):
        return super().natural_from_features(f)[:, 0]

    def all_states(self):
        return np.arange(self.q, dtype=np.intp)
