"""Rotational symmetry of the weights and what breaking it means (Toledo-Marin, Maiti, Fox and Melko 2025,
Figs. 3e, 4 and 6).

* At initialisation U and V are Haar-random. For uniformly random binary v, x_k = u_kᵀv has mean ½ Σ_i U_ik,
  variance ¼ and excess kurtosis −2 Σ_i U_ik⁴, whose Haar average is −6/(n+2) for n visible units: the
  reciprocal variables are nearly Gaussian (Fig. 3e).
* Rotating U and V by Haar-random rotations leaves the entry distribution of an i.i.d. Gaussian W unchanged;
  after training it does not. The Jensen–Shannon divergence between the two entry histograms measures it (Fig. 4).
* Rotating the eigenvectors of a trained W and resampling v given h shows what the modes hold (Fig. 6):
  rotating within the top-k modes changes the image globally, rotating in planes orthogonal to them, with the
  top-k fixed, changes it locally.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer._kernels.random import seed_chain_states
from rbm_explorer.analysis.spectra.reciprocal import oriented_svd

ROTATIONS = ("top", "orthogonal")


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def excess_kurtosis(x, axis: int = 0) -> np.ndarray:
    """The sample excess kurtosis m₄/m₂² − 3 along ``axis`` (0 for a Gaussian)."""
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean(axis=axis, keepdims=True)
    m2, m4 = (d**2).mean(axis=axis), (d**4).mean(axis=axis)
    return m4 / m2**2 - 3.0


def haar_kurtosis_reference(n: int) -> float:
    """−6/(n+2): the Haar average of a reciprocal variable's excess kurtosis for uniformly random binary v."""
    return -6.0 / (int(n) + 2)


def uniform_binary_kurtosis(u) -> np.ndarray:
    """The exact excess kurtosis of x_k = u_kᵀv for uniformly random binary v: −2 Σ_i U_ik⁴ / (Σ_i U_ik²)²."""
    u = np.asarray(u, dtype=np.float64)
    return -2.0 * (u**4).sum(axis=0) / (u**2).sum(axis=0) ** 2


def haar_orthogonal(n: int, seed=None) -> np.ndarray:
    """An n x n orthogonal matrix drawn from the Haar measure (QR of a Gaussian matrix, signs fixed by R's
    diagonal, as Mezzadri 2007 describes)."""
    z = _rng(seed).standard_normal((int(n), int(n)))
    q, r = np.linalg.qr(z)
    return q * np.sign(np.diag(r))


def js_divergence(p, q) -> float:
    """Jensen–Shannon divergence (natural log, so at most log 2) between two histograms on the same bins."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if p.shape != q.shape or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("the histograms need the same bins and some counts each")
    p, q = p / p.sum(), q / q.sum()
    mid = 0.5 * (p + q)

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / mid[nz])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def rotation_js_divergence(weights, bins: int = 100, seed=None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """JS divergence between the entry histogram of W and that of R₁ W R₂ᵀ, with R₁ and R₂ Haar-random
    rotations (which rotate U and V). Returns (divergence, bin edges, counts of W, counts of the rotated W).

    For an i.i.d. Gaussian W both are samples of one law, and 4·n·JS follows χ² with bins − 1 degrees of
    freedom (the G-test of homogeneity, n = the number of entries): the noise floor of the statistic."""
    w = np.asarray(weights, dtype=np.float64)
    rng = _rng(seed)
    rotated = haar_orthogonal(w.shape[0], rng) @ w @ haar_orthogonal(w.shape[1], rng).T
    reach = max(np.abs(w).max(), np.abs(rotated).max())
    edges = np.linspace(-reach, reach, int(bins) + 1)
    a, _ = np.histogram(w, edges)
    b, _ = np.histogram(rotated, edges)
    return js_divergence(a, b), edges, a, b


def _plane_rotation(basis: np.ndarray, angle: float, rng: np.random.Generator) -> np.ndarray:
    """The n x n rotation by ``angle`` in each plane of a random pairing of an orthonormal basis (n x d, d ≥ 2)
    of a subspace; identity on its complement (and on the one left-over direction when d is odd)."""
    n, d = basis.shape
    mix = basis @ haar_orthogonal(d, rng)  # a random orthonormal basis of the same subspace
    p, q = mix[:, 0:d - 1:2], mix[:, 1:d:2]
    c, s = np.cos(angle), np.sin(angle)
    return np.eye(n) + (c - 1.0) * (p @ p.T + q @ q.T) + s * (q @ p.T - p @ q.T)


def rotate_eigenvectors(weights, k: int, angle: float, where: str = "top", seed=None) -> np.ndarray:
    """W with its left singular vectors rotated by ``angle`` (radians): ``where="top"`` rotates within the span
    of the top-k modes only; ``"orthogonal"`` rotates in random planes orthogonal to them, which stay fixed.
    The singular values and V are unchanged (Fig. 6)."""
    if where not in ROTATIONS:
        raise ValueError(f"unknown rotation {where!r}; choose one of {', '.join(ROTATIONS)}")
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    if not 1 <= int(k) < n:
        raise ValueError(f"k must lie in 1..{n - 1}, got {k}")
    rng = _rng(seed)
    u_full, _, _ = np.linalg.svd(w, full_matrices=True)
    top = oriented_svd(w, int(k))[0]
    if where == "top":
        if k < 2:
            raise ValueError("rotating within the top modes needs k >= 2 (one mode spans no plane)")
        span = top
    else:
        rest = u_full[:, int(k):]  # the orthogonal complement of the top-k left singular vectors
        span = rest
    return _plane_rotation(span, float(angle), rng) @ w


def resample_visible(rbm, hidden, weights, seed=None) -> np.ndarray:
    """Natural visible states drawn from p(v | h) of ``rbm`` with its weight matrix replaced by ``weights``
    (visible features x hidden): the last Gibbs step of the rotation experiment. Any visible kind."""
    hidden_features = rbm.hidden.features(np.asarray(hidden))
    inputs = (hidden_features @ np.asarray(weights, dtype=np.float64).T).astype(np.float32)
    states = seed_chain_states(len(inputs), _rng(seed))
    out = np.empty(inputs.shape, dtype=np.float32)
    rbm.visible.sample_from_inputs(inputs, 1.0, states, out)
    return rbm.visible.natural_from_features(out)
