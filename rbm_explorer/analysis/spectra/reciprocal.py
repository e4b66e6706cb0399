"""Reciprocal space of an RBM: the SVD of its weights and the energy written mode by mode.

With W = U Σ Vᵀ (visible features x hidden), the reciprocal variables are x = Uᵀv and y = Vᵀh, and the rotated
fields α = Uᵀg and β = Vᵀθ. The bilinear energy E(v, h) = −gᵀv − θᵀh − vᵀWh separates into modes,

    E = Σ_k E_k(x_k, y_k),   E_k = −α_k x_k − β_k y_k − σ_k x_k y_k,

plus the linear terms of the directions W does not reach (Toledo-Marin, Maiti, Fox and Melko 2025, as
reconstructed in the project's notes). Each E_k is a hyperbolic paraboloid: its saddle is at x* = −β_k/σ_k,
y* = −α_k/σ_k with energy α_kβ_k/σ_k, and its Hessian has the eigenvalues ±σ_k.

The rotated fields are named ``alpha_fields`` and ``beta_fields`` so that they are never read as an inverse
temperature. The decomposition holds for units whose energy is linear in their features (binary, spin and,
with W as (N·q) x M, Potts); a Gaussian unit's quadratic term has no such form and is refused by name.

Signs: each singular pair (u_k, v_k) is defined up to a common sign; here u_k has a non-negative sum, so the
same matrix always gives the same coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIELD_CHOICES = ("model", "zero", "data")
FIELD_LABELS = {"model": "the model's own fields", "zero": "zero fields",
                "data": "visible fields from the data frequencies, zero hidden fields"}


def chosen_fields(fields: str, visible_fields, hidden_fields, visible, data=None) -> tuple[np.ndarray, np.ndarray]:
    """(g, θ) for one of ``FIELD_CHOICES``: the given ones (``"model"``), zeros (``"zero"``), or visible fields
    from the frequencies of ``data`` (natural states of the layer ``visible``) with zero hidden fields
    (``"data"``). The one place the three choices are made, for models, snapshots and bases alike."""
    if fields not in FIELD_CHOICES:
        raise ValueError(f"unknown fields {fields!r}; choose one of {', '.join(FIELD_CHOICES)}")
    g, theta = np.asarray(visible_fields, np.float64).reshape(-1), np.asarray(hidden_fields, np.float64)
    if fields == "zero":
        return np.zeros_like(g), np.zeros_like(theta)
    if fields == "data":
        if data is None or len(data) == 0:
            raise ValueError("data-frequency fields need the data (the model's data are not available)")
        mean = visible.features(np.asarray(data)).mean(axis=0)
        return np.asarray(visible.fields_from_mean(mean), np.float64).reshape(-1), np.zeros_like(theta)
    return g, theta


def _finite(name: str, value) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} holds NaN or infinite entries")
    return value


GRAM_CONDITION = 1e-5  # below this σ_min/σ_max the Gram route loses digits; the SVD is used instead


def _gram_svd(w: np.ndarray):
    """The thin SVD from the eigenvectors of the smaller Gram matrix: 2-3x faster than LAPACK's SVD at
    784 x 1000 on one thread (benchmarks/spectra.py). The other side's vectors are W v / σ, accurate while σ_min
    is not tiny against σ_max (relative error ~ machine ε (σ_max/σ)²); None when it is, for the SVD to take over."""
    tall = w.shape[0] > w.shape[1]
    gram = w.T @ w if tall else w @ w.T
    eigenvalues, vectors = np.linalg.eigh(gram)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
    s = np.sqrt(np.clip(eigenvalues, 0.0, None))
    if s[0] == 0 or s[-1] < GRAM_CONDITION * s[0]:
        return None
    if tall:
        return (w @ vectors) / s, s, vectors
    return vectors, s, (w.T @ vectors) / s


def oriented_svd(weights, top: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, σ, V) of a weight matrix, thin (r = min(N, M) columns, or the ``top`` largest), σ descending, float64,
    each u_k signed so that its entries sum to zero or more."""
    w = _finite("the weight matrix", weights)
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(f"the weight matrix must be 2-d and non-empty, got shape {w.shape}")
    found = _gram_svd(w)
    if found is None:
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        found = (u, s, vt.T)
    u, s, v = found
    if top is not None:
        if not 1 <= int(top) <= len(s):
            raise ValueError(f"top must lie in 1..{len(s)}, got {top}")
        u, s, v = u[:, :top], s[:top], v[:, :top]
    signs = np.where(u.sum(axis=0) < 0, -1.0, 1.0)
    return u * signs, s, v * signs


def _checked_fields(visible_fields, hidden_fields, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The fields as finite float64 vectors of n and m entries (zeros where None)."""
    g = np.zeros(n) if visible_fields is None else _finite("the visible fields", visible_fields).reshape(-1)
    theta = np.zeros(m) if hidden_fields is None else _finite("the hidden fields", hidden_fields).reshape(-1)
    if g.shape != (n,) or theta.shape != (m,):
        raise ValueError(f"the fields have {g.size} and {theta.size} entries; the weights need {n} and {m}")
    return g, theta


@dataclass(frozen=True)
class Saddles:
    """The saddle of each mode's energy: position (x*, y*), energy E*, and the Hessian's eigenvalues ±σ_k."""

    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    hessian_eigenvalues: np.ndarray  # modes x 2: (−σ_k, +σ_k)


@dataclass(frozen=True)
class ReciprocalBasis:
    """An RBM's weights and fields in reciprocal space (all float64).

    u : visible features x r, singular_values : r (descending), v : hidden x r,
    visible_fields g (features), hidden_fields θ, and ``fields``, which of ``FIELD_CHOICES`` they are."""

    u: np.ndarray
    singular_values: np.ndarray
    v: np.ndarray
    visible_fields: np.ndarray
    hidden_fields: np.ndarray
    fields: str = "model"

    @classmethod
    def from_parts(cls, weights, visible_fields=None, hidden_fields=None, top: int | None = None,
                   fields: str = "model") -> "ReciprocalBasis":
        """From W (features x hidden) and the fields (zeros when None)."""
        u, s, v = oriented_svd(weights, top)
        return cls(u, s, v, *_checked_fields(visible_fields, hidden_fields, u.shape[0], v.shape[0]), fields)

    @classmethod
    def from_modes(cls, modes, visible_fields=None, hidden_fields=None, fields: str = "model") -> "ReciprocalBasis":
        """From a snapshot's top singular triplets (``io.weight_history.Modes``) and its fields."""
        u, s, v = (np.asarray(a, np.float64) for a in (modes.u, modes.singular_values, modes.v))
        return cls(u, s, v, *_checked_fields(visible_fields, hidden_fields, u.shape[0], v.shape[0]), fields)

    @classmethod
    def from_rbm(cls, rbm, fields: str = "model", data=None, top: int | None = None) -> "ReciprocalBasis":
        """From an RBM, with its own fields (``"model"``), with zero fields (``"zero"``), or with visible fields
        set from the frequencies of ``data`` (natural visible states) and zero hidden fields (``"data"``): the
        three places a saddle can sit (the project's notes on Toledo-Marin et al. 2025, Fig. 2)."""
        check_bilinear(rbm)
        g, theta = chosen_fields(fields, rbm.visible.feature_fields, rbm.hidden.fields, rbm.visible, data)
        return cls.from_parts(rbm.weight_matrix, g, theta, top=top, fields=fields)

    @property
    def n_modes(self) -> int:
        return len(self.singular_values)

    @property
    def alpha_fields(self) -> np.ndarray:
        """α = Uᵀg, the visible fields in reciprocal space."""
        return self.u.T @ self.visible_fields

    @property
    def beta_fields(self) -> np.ndarray:
        """β = Vᵀθ, the hidden fields in reciprocal space (not an inverse temperature)."""
        return self.v.T @ self.hidden_fields

    def visible_coordinates(self, features) -> np.ndarray:
        """x = Uᵀv for rows of visible features (samples x modes)."""
        return np.asarray(features, dtype=np.float64) @ self.u

    def hidden_coordinates(self, hidden) -> np.ndarray:
        """y = Vᵀh for rows of hidden states or hidden means (samples x modes)."""
        return np.asarray(hidden, dtype=np.float64) @ self.v

    def mode_energies(self, x, y) -> np.ndarray:
        """E_k(x_k, y_k) = −α_k x_k − β_k y_k − σ_k x_k y_k, broadcast over x and y (last axis: modes)."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        return -(self.alpha_fields * x + self.beta_fields * y + self.singular_values * x * y)

    def mode_energy(self, k: int, x, y) -> np.ndarray:
        """E_k on any grid of (x, y) for the one mode k (0-based), e.g. a contour grid."""
        a, b, s = self.alpha_fields[k], self.beta_fields[k], self.singular_values[k]
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        return -(a * x + b * y + s * x * y)

    def outside_energy(self, features, hidden) -> np.ndarray:
        """The fields' energy along the directions the kept modes do not span: −g⊥ᵀv − θ⊥ᵀh, so that
        ``mode_energies(x, y).sum(-1) + outside_energy(v, h)`` is E(v, h)."""
        g_perp = self.visible_fields - self.u @ self.alpha_fields
        theta_perp = self.hidden_fields - self.v @ self.beta_fields
        return -(np.asarray(features, np.float64) @ g_perp + np.asarray(hidden, np.float64) @ theta_perp)

    def saddles(self) -> Saddles:
        """The saddle of every mode: x* = −β_k/σ_k, y* = −α_k/σ_k, E* = α_kβ_k/σ_k, Hessian eigenvalues ±σ_k.
        A mode with σ_k = 0 has no saddle (its entries are NaN)."""
        s = self.singular_values
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = np.where(s > 0, s, np.nan)
            a, b = self.alpha_fields, self.beta_fields
            return Saddles(-b / safe, -a / safe, a * b / safe, np.stack([-s, s], axis=1))

    def landscape(self, k: int, x_range, y_range, points: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs, ys, E) on a points x points grid: E[i, j] = E_k(xs[j], ys[i]) (rows follow y, as images do)."""
        if not 0 <= k < self.n_modes:
            raise ValueError(f"mode {k + 1} does not exist; this basis has modes 1..{self.n_modes}")
        xs, ys = np.linspace(*x_range, points), np.linspace(*y_range, points)
        return xs, ys, self.mode_energy(k, xs[None, :], ys[:, None])


def check_bilinear(rbm) -> None:
    """Raise ``ValueError`` unless both layers' energies are linear in their features (binary, spin, Potts)."""
    for role, layer in (("visible", rbm.visible), ("hidden", rbm.hidden)):
        if not layer.linear_energy:
            raise ValueError(f"the {role} units are {layer.kind}: their energy has a quadratic term, so it does not "
                             "separate into reciprocal modes; landscapes need binary, spin or Potts units")
