"""An independent judge of generated samples: a model of real labelled data, never of an RBM.

The morph tests (Fig. 8c, 9e), the app's class-probability trace and the browser tests all ask the same
question - "which class does this sample show?" - so they share this one judge. Its answer may be *unclear*:
a noise image or a blend of two classes is none of them, and a judge that must name a class calls 98.6 % of
Bernoulli(1/2) noise images a class with probability above 0.9 (the logistic regression this judge replaces).

The model is a density per class, fitted on the dataset's training split in its own encoding: a probabilistic
PCA with ``N_COMPONENTS`` principal directions and a diagonal residual variance per pixel (floored at
``VARIANCE_FLOOR``), i.e. the Gaussian -log p(v | c) = 1/2 [sum_k z_k^2 / lambda_k + sum_i r_i^2 / psi_i +
log det] with z the PCA coordinates of v - mu_c (a Mahalanobis distance in the PCA space) and r its residual
(a reconstruction error weighted per pixel, so that ink where class c never has any costs a lot).

- ``probabilities(v)``: the Bayes posterior P(c | v) of these densities and the training class frequencies.
- ``outcomes(v)``: the most probable class, or ``UNCLEAR_INDEX`` (-1) when v is out of that class's
  distribution: its -log p(v | c) is above the class's threshold. The threshold is the ``1 - UNCLEAR_RATE``
  quantile (98 %) of the scores of held-out *real* images of the class: out-of-fold scores of a 5-fold split
  of the training split, so about 2 % of real images are called unclear (the test split is never used to fit).
- ``classify(v)``: ``(labels, unclear_mask)``; ``shares(v)``: the share of each class and of ``UNCLEAR``.

Everything is cached per dataset spec because the app asks for it in every session; a call is one product of the
images with an N x D(2K + 1) matrix, so the Morph page can judge its 64 chains in every frame.

``label_direction`` gives the first-order label vector q the Morph page projects chains on: q(1) for two
classes (Eq. 6), q_d for class d of a multi-class label (Eq. 26).
"""

from __future__ import annotations

import functools
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rbm_explorer.datasets import Dataset, load_dataset
from rbm_explorer.training.constraints import linear_vector

JUDGE_OPTIONS = ("digits", "attribute", "size", "n_samples", "threshold")


def dataset_options(spec: dict) -> dict:
    """The ``load_dataset`` keyword options of a model's ``dataset`` metadata (name and label names dropped)."""
    return {k: v for k, v in spec.items() if k in JUDGE_OPTIONS}


@functools.lru_cache(maxsize=8)
def _dataset(spec_json: str) -> Dataset:
    spec = json.loads(spec_json)
    return load_dataset(spec["name"], **dataset_options(spec))


def dataset_for(spec: dict) -> Dataset:
    """The dataset a model was trained on, from its ``dataset`` metadata (cached)."""
    return _dataset(json.dumps(spec, sort_keys=True))


UNCLEAR = "unclear"
UNCLEAR_INDEX = -1
N_COMPONENTS = 20
VARIANCE_FLOOR = 0.02
UNCLEAR_RATE = 0.02
N_FOLDS = 5


@dataclass(frozen=True)
class ClassDensity:
    """Probabilistic PCA of one class with a diagonal residual variance: -log p(v | c) up to a constant."""

    mean: np.ndarray  # (N,)
    directions: np.ndarray  # (N, K), orthonormal columns
    variances: np.ndarray  # (K,)
    residual_variances: np.ndarray  # (N,)
    log_det: float

    @classmethod
    def fit(cls, x: np.ndarray, n_components: int = N_COMPONENTS, floor: float = VARIANCE_FLOOR):
        from sklearn.utils.extmath import randomized_svd

        mean = x.mean(axis=0)
        centred = x - mean
        k = min(n_components, len(x) - 1, x.shape[1])
        _, s, vt = randomized_svd(centred, k, n_iter=4, random_state=0)
        variances = np.maximum(s**2 / max(len(x) - 1, 1), 1e-12)
        residual = centred - (centred @ vt.T) @ vt
        residual_variances = np.maximum((residual**2).mean(axis=0), floor)
        log_det = float(np.log(variances).sum() + np.log(residual_variances).sum())
        return cls(mean, np.ascontiguousarray(vt.T), variances, residual_variances, log_det)

    def score(self, v: np.ndarray) -> np.ndarray:
        """-log p(v | c) + N/2 log(2 pi) of each row of v (n,)."""
        centred = v - self.mean
        z = centred @ self.directions
        residual = centred - z @ self.directions.T
        return 0.5 * ((z**2 / self.variances).sum(axis=1) + (residual**2 / self.residual_variances).sum(axis=1)
                      + self.log_det)


@dataclass(frozen=True)
class Judge:
    """Class or *unclear* of natural visible states (n x N): ``probabilities`` (n x D), ``outcomes`` (n,)."""

    class_names: tuple[str, ...]
    densities: tuple[ClassDensity, ...]
    log_priors: np.ndarray  # (D,)
    thresholds: np.ndarray  # (D,) -log p(v | c) above which v is unclear
    test_accuracy: float  # on the test split, an unclear call counted as a miss
    test_unclear: float  # share of the test split called unclear

    @property
    def outcome_names(self) -> tuple[str, ...]:
        """The class names and ``UNCLEAR`` last, so that ``outcome_names[outcome]`` names every outcome."""
        return (*self.class_names, UNCLEAR)

    def __post_init__(self):
        # scores() in one product v @ B: with xc = v - mu, z = xc U and psi the residual variances,
        # sum_i r_i^2 / psi_i = sum_i xc_i^2 / psi_i - 2 z . (xc U / psi) + z (U' U / psi) z', and
        # xc M = v M - mu M, so that no (n x N) reconstruction is formed.
        blocks, offsets, inverse = [], [], []
        for d in self.densities:
            inv_psi = 1.0 / d.residual_variances
            weighted = d.directions * inv_psi[:, None]
            blocks.append(np.column_stack([d.directions, weighted, -2.0 * d.mean * inv_psi]))
            offsets.append(np.concatenate([-d.mean @ d.directions, -d.mean @ weighted, [0.0]]))
            inverse.append(inv_psi)
        object.__setattr__(self, "_product", np.ascontiguousarray(np.column_stack(blocks)))
        object.__setattr__(self, "_offsets", offsets)
        object.__setattr__(self, "_inverse_psi", np.ascontiguousarray(np.column_stack(inverse)))
        object.__setattr__(self, "_constants", [
            0.5 * d.log_det + 0.5 * float(d.mean**2 @ (1.0 / d.residual_variances)) for d in self.densities])
        object.__setattr__(self, "_grams", [(d.directions * (1.0 / d.residual_variances)[:, None]).T @ d.directions
                                            for d in self.densities])

    def scores(self, v: np.ndarray) -> np.ndarray:
        """-log p(v | c) of each class (n x D), up to a constant N/2 log(2 pi)."""
        v = np.asarray(v, dtype=np.float64)
        if v.ndim == 1:
            v = v[None, :]
        product = v @ self._product
        squares = (v * v) @ self._inverse_psi
        out = np.empty((len(v), len(self.densities)))
        width = 2 * self.densities[0].variances.size + 1 if self.densities else 0
        for c, d in enumerate(self.densities):
            k = d.variances.size
            block = product[:, c * width:(c + 1) * width] + self._offsets[c]
            z, zw, linear = block[:, :k], block[:, k:2 * k], block[:, 2 * k]
            residual = (squares[:, c] + linear - 2.0 * np.einsum("nk,nk->n", z, zw)
                        + np.einsum("nk,kl,nl->n", z, self._grams[c], z))
            out[:, c] = 0.5 * ((z**2 / d.variances).sum(axis=1) + residual) + self._constants[c]
        return out

    def _posterior(self, scores: np.ndarray) -> np.ndarray:
        log_joint = self.log_priors - scores
        log_joint -= log_joint.max(axis=1, keepdims=True)
        p = np.exp(log_joint)
        return p / p.sum(axis=1, keepdims=True)

    def probabilities(self, v: np.ndarray) -> np.ndarray:
        """P(class | v) (n x D), whether v looks like real data or not (see ``outcomes``)."""
        return self._posterior(self.scores(v))

    def classes(self, v: np.ndarray) -> np.ndarray:
        """The most probable class of each row, never unclear (n,)."""
        return np.argmax(self.log_priors - self.scores(v), axis=1)

    def classify(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, unclear)``: the most probable class (n,) and whether v is out of its distribution (n,)."""
        scores = self.scores(v)
        labels = np.argmax(self.log_priors - scores, axis=1)
        unclear = scores[np.arange(len(labels)), labels] > self.thresholds[labels]
        return labels, unclear

    def outcomes(self, v: np.ndarray) -> np.ndarray:
        """Class index of each row, or ``UNCLEAR_INDEX`` (-1) where it is unclear (n,)."""
        labels, unclear = self.classify(v)
        return np.where(unclear, UNCLEAR_INDEX, labels)

    def shares(self, v: np.ndarray) -> dict[str, float]:
        """Share of the rows per outcome: each class name, then ``UNCLEAR``; the shares sum to 1."""
        outcomes = self.outcomes(v)
        counts = np.bincount(np.where(outcomes < 0, len(self.class_names), outcomes),
                             minlength=len(self.class_names) + 1)
        return {name: float(c) / max(len(outcomes), 1) for name, c in zip(self.outcome_names, counts)}


def _fit_densities(x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[ClassDensity, ...]:
    missing = [c for c in range(n_classes) if np.sum(y == c) < 2]
    if missing:
        raise ValueError(f"classes {missing} have fewer than 2 training samples, too few to judge them")
    return tuple(ClassDensity.fit(x[y == c]) for c in range(n_classes))


def fit_judge(class_names, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              seed: int = 0) -> Judge:
    """Fit the class densities on (x, y) and set each class's threshold on out-of-fold scores of its images."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    n_classes = len(class_names)
    folds = np.random.default_rng(seed).permutation(len(x)) % N_FOLDS
    held_out = np.empty((len(x), n_classes))
    for f in range(N_FOLDS):
        fitted = _fit_densities(x[folds != f], y[folds != f], n_classes)
        held_out[folds == f] = np.stack([d.score(x[folds == f]) for d in fitted], axis=1)
    counts = np.bincount(y, minlength=n_classes)
    log_priors = np.log(counts / counts.sum())
    labels = np.argmax(log_priors - held_out, axis=1)
    thresholds = np.array([np.quantile(held_out[labels == c, c] if np.any(labels == c) else held_out[y == c, c],
                                       1 - UNCLEAR_RATE) for c in range(n_classes)])
    judge = Judge(tuple(class_names), _fit_densities(x, y, n_classes), log_priors, thresholds, float("nan"),
                  float("nan"))
    outcomes = judge.outcomes(x_test)
    return Judge(judge.class_names, judge.densities, log_priors, thresholds,
                 float(np.mean(outcomes == np.asarray(y_test))), float(np.mean(outcomes == UNCLEAR_INDEX)))


@functools.lru_cache(maxsize=8)
def _judge(spec_json: str) -> Judge:
    data = _dataset(spec_json)
    x, y = data.part("train")
    x_test, y_test = data.part("test")
    return fit_judge(data.label_names, x, y, x_test, y_test)


def class_judge(spec: dict) -> Judge:
    """The judge for a model's ``dataset`` metadata, e.g. ``{"name": "mnist", "digits": "0,1"}``."""
    if not spec or "name" not in spec:
        raise ValueError("this model records no dataset, so there is no classifier to judge its samples")
    return _judge(json.dumps(spec, sort_keys=True))


_POOL = None
_FUTURES: dict = {}
_POOL_LOCK = threading.Lock()


def class_judge_future(spec: dict) -> Future:
    """``class_judge(spec)`` computed in a background thread (one per process), so that an interactive caller
    never waits for the fit: the app polls the future. Repeated calls share one future per dataset spec."""
    global _POOL
    key = json.dumps(spec, sort_keys=True)
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rbm-judge")
        if key not in _FUTURES:
            _FUTURES[key] = _POOL.submit(class_judge, spec)
        return _FUTURES[key]


def label_direction(spec: dict, target_class: int = 1) -> np.ndarray:
    """q for ``target_class``: q(1) = <u v> - <u><v> with u = [class == target] (Eqs. 6 and 26), over the
    training split in feature space (n_visible,)."""
    data = dataset_for(spec)
    x, y = data.part("train")
    x = x.astype(np.float64)
    n_classes = len(data.label_names)
    if not 0 <= target_class < n_classes:
        raise ValueError(f"class {target_class} out of range 0..{n_classes - 1}")
    return linear_vector(x, (y == target_class).astype(np.float64))
