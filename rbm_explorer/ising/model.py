"""The Ising model's parameters, checked once, and what follows from them.

E(s) = −J Σ_⟨ij⟩ s_i s_j − h Σ_i s_i on an L×L periodic square lattice, sampled at inverse temperature β
(Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Sec. V; Huang, Hu and Yang use J < 0 and h as well).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_SIZE = 4096


@dataclass(frozen=True)
class IsingModel:
    """An L×L torus with coupling J (``coupling``), field h (``field``) at inverse temperature β (``beta``).

    The antiferromagnet (J < 0) needs an even L: on an odd torus it is frustrated and has no staggered order.
    """

    L: int
    beta: float
    coupling: float = 1.0
    field: float = 0.0

    def __post_init__(self):
        if isinstance(self.L, bool) or not isinstance(self.L, (int, np.integer)) or not 2 <= self.L <= MAX_SIZE:
            raise ValueError(f"the lattice size L must be an integer from 2 to {MAX_SIZE}, got {self.L!r}")
        object.__setattr__(self, "L", int(self.L))
        for name in ("beta", "coupling", "field"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.beta <= 0:
            raise ValueError(f"the inverse temperature beta must be positive, got {self.beta}")
        if self.coupling == 0:
            raise ValueError("the coupling J must not be 0 (use a field alone? it has no phase transition)")
        if self.coupling < 0 and self.L % 2:
            raise ValueError(f"the antiferromagnet (J < 0) needs an even L; got L={self.L}")

    @property
    def n_spins(self) -> int:
        return self.L * self.L

    def energy_per_spin(self, bond_sum, spin_sum):
        """e = (−J Σ_⟨ij⟩ s_i s_j − h Σ s_i) / N from the sums of ``_kernels.ising_measure``."""
        return (-self.coupling * np.asarray(bond_sum) - self.field * np.asarray(spin_sum)) / self.n_spins

    def with_beta(self, beta: float) -> "IsingModel":
        return IsingModel(self.L, beta, self.coupling, self.field)

    def describe(self) -> str:
        kind = "ferromagnet" if self.coupling > 0 else "antiferromagnet"
        field = f", h={self.field:g}" if self.field else ""
        return f"{self.L}x{self.L} Ising {kind} (J={self.coupling:g}{field}) at beta={self.beta:g}"
