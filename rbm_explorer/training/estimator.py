"""A scikit-learn estimator around the training loop: ``RBMEstimator`` (alias ``RBM``).

It trains with the same ``initialize_rbm`` + ``Trainer`` as the rest of the package (PCD, CD or Rdm, SGD or
Adam) and exposes the scikit-learn API:

* hyper-parameters in ``__init__`` (stored unchanged, validated in ``fit``);
* ``fit(X)`` trains ``n_iter`` epochs from a fresh model; ``partial_fit(X)`` trains one epoch over ``X``,
  creating the model on the first call and otherwise continuing it - the optimizer moments, the persistent
  chains and their random streams, and the epoch / update counters carry over, so ``partial_fit`` twice on the
  same ``X`` gives exactly the weights of ``fit`` with ``n_iter=2``;
* ``transform(X)``: the hidden conditional means E[h | v] (n_samples x n_components);
* ``score_samples(X)``: ``-F(v)``, minus the free energy (hidden units summed out). This is the
  log-likelihood log P(v) up to the constant log Z, so higher is better and differences between samples of
  one model are log-likelihood ratios; values are *not* comparable between models (unlike scikit-learn's
  ``BernoulliRBM.score_samples``, which returns a stochastic pseudo-likelihood);
* learned attributes ``rbm_`` (the live ``rbm_explorer.rbm.RBM``), ``components_`` (n_components x
  n_visible features, the transposed weight matrix as in ``BernoulliRBM``; N*q one-hot columns for Potts),
  ``intercept_hidden_``, ``intercept_visible_`` (visible fields in feature layout), ``n_features_in_``,
  ``n_iter_`` (epochs trained so far), ``history_`` (the trainer's ``History``) and ``q_`` (Potts only).
  ``components_`` and the intercepts are copies refreshed by every ``fit`` / ``partial_fit``.

Accepted data, by ``visible`` kind: ``"binary"`` - values in [0, 1]; exact 0/1 is the model's data, other
values are used as-is as soft features ("probabilities") in the positive phase and in ``transform`` /
``score_samples``, while negative chains that start from data (PCD start, every CD update) start from
Bernoulli draws of them; ``"spin"`` - values -1 / +1; ``"potts"`` - integers 0..q-1 with ``q_`` = max + 1 of
the first training data (at least 2); ``"gaussian"`` - unit-variance Gaussian visibles, any finite reals
(standardise the data first).

``random_state`` is turned into one integer seed per ``fit`` (and per first ``partial_fit``), which is
``TrainingConfig.seed``: an int ``random_state`` gives identical models run after run.

scikit-learn's ``check_estimator`` passes every check for ``visible="potts"`` and ``visible="gaussian"``. For
``"binary"`` (the default) and ``"spin"`` the checks that fit on unscaled real data fail, because such data are
not valid states and ``fit`` says so; ``SKIPPED_CHECKS`` (binary) and ``SKIPPED_CHECKS_BY_VISIBLE`` list each
with its reason, and ``expected_failed_checks(estimator)`` returns the dict for an instance. Tags: binary and
Potts data are ``positive_only`` (negative values raise "Negative values in data ..."), Potts data are
``categorical``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from rbm_explorer.layers import layer_class, layer_for_role, layer_kinds, option_names
from rbm_explorer.rbm import RBM as _Model
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.loop import History, Trainer, initialize_rbm
from rbm_explorer.training.optimizers import OPTIMIZERS

__all__ = ["RBMEstimator", "RBM", "SKIPPED_CHECKS", "SKIPPED_CHECKS_BY_VISIBLE", "expected_failed_checks"]


_BINARY_RANGE = (
    "fits on real-valued data with values above 1 (uniform on [0, 3], make_blobs, or standard-normal data "
    "shifted to be non-negative by the positive_only tag); binary visible units need values in [0, 1], and fit "
    "raises ValueError rather than train on invalid states. No scikit-learn tag asks for data in [0, 1]."
)
_BINARY_SHAPE = (
    _BINARY_RANGE + " The range error comes before the one-sample / one-feature case whose error message the "
    "check inspects; a single sample or a single feature in [0, 1] is itself supported."
)
_SPIN_RANGE = (
    "fits on real-valued data; spin visible units need values -1 / +1, and fit raises ValueError rather than "
    "train on invalid states. No scikit-learn tag asks for +-1 data."
)

_RANGE_CHECKS = (
    "check_estimators_overwrite_params", "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting", "check_estimators_dtypes",
    "check_pipeline_consistency", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array", "check_transformer_general", "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
)

#: Checks of ``check_estimator(RBMEstimator())`` (binary visibles, the default) that fail by design, with the
#: reason. Every one of them fails only because it fits on data outside [0, 1].
SKIPPED_CHECKS: dict[str, str] = {
    **{name: _BINARY_RANGE for name in _RANGE_CHECKS},
    "check_fit2d_1sample": _BINARY_SHAPE,
    "check_fit2d_1feature": _BINARY_SHAPE,
}

#: The same per visible kind. Potts visibles get integer data from the checks (``categorical`` tag) and Gaussian
#: visibles accept any reals, so both pass every check.
SKIPPED_CHECKS_BY_VISIBLE: dict[str, dict[str, str]] = {
    "binary": SKIPPED_CHECKS,
    "spin": {
        **{name: _SPIN_RANGE for name in _RANGE_CHECKS},
        "check_fit2d_1sample": _SPIN_RANGE + " The range error comes before the one-sample case.",
        "check_fit2d_1feature": _SPIN_RANGE + " The range error comes before the one-feature case.",
        "check_fit_score_takes_y": _SPIN_RANGE,
        "check_dtype_object": _SPIN_RANGE,
        "check_estimators_nan_inf": _SPIN_RANGE + " (The NaN / inf inputs themselves are rejected as required.)",
        "check_positive_only_tag_during_fit": (
            "fits on centred iris data and takes any error as a rejection of negative values; spin units reject "
            "these data because they are not -1 / +1 (negative values are valid spins)."
        ),
    },
    "potts": {},
    "gaussian": {},
}


def expected_failed_checks(estimator) -> dict[str, str]:
    """The documented expected failures of ``check_estimator`` for this instance (for
    ``check_estimator(..., expected_failed_checks=...)`` and ``parametrize_with_checks``)."""
    return dict(SKIPPED_CHECKS_BY_VISIBLE.get(getattr(estimator, "visible", "binary"), {}))


def _as_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class _Trainer(Trainer):
    """The package's ``Trainer`` with soft data (binary values in [0, 1], ``Layer.is_soft``): the positive
    phase uses the given means, and negative chains that start from data start from states drawn from them
    (the engine only holds true states). The draws are a fixed function of (seed, update), so runs stay
    reproducible and resumable."""

    def __init__(self, rbm: _Model, data: np.ndarray, config: TrainingConfig, resuming: bool = False):
        self._soft = rbm.visible.is_soft(data)
        if self._soft:
            super().__init__(rbm, self._draw(rbm, data, config.seed, 0), config, resuming=resuming)
            self.features = rbm.visible.features(data).astype(np.float32)
        else:
            super().__init__(rbm, data, config, resuming=resuming)

    @staticmethod
    def _draw(rbm: _Model, means: np.ndarray, seed: int, index: int) -> np.ndarray:
        return rbm.visible.draw_from_means(means, np.random.default_rng(np.random.SeedSequence([seed, 0xB1A5, index])))

    def _negative_features(self, batch):
        if self._soft and self.config.algorithm == "cd":
            batch = self._draw(self.rbm, batch, self.config.seed, self.update + 1)
        return super()._negative_features(batch)


class RBMEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Restricted Boltzmann machine as a scikit-learn transformer.

    Parameters
    ----------
    n_components : int, default=100
        Number of hidden units M.
    visible : {'binary', 'spin', 'potts', 'gaussian'}, default='binary'
        Kind of the visible units (see the module docstring for the data each accepts).
    hidden : {'binary', 'spin'}, default='binary'
        Kind of the hidden units.
    algorithm : {'pcd', 'cd', 'rdm'}, default='pcd'
        Where the negative chains start: persistent chains, the minibatch, or uniform noise.
    gibbs_steps : int, default=1
        Gibbs sweeps of the negative chains per update.
    batch_size : int, default=100
        Minibatch size; clipped to the number of samples when larger.
    n_chains : int or None, default=None
        Persistent chains for 'pcd' / 'rdm' (default: the effective batch size of the first training call).
    learning_rate : float, default=0.01
    n_iter : int, default=10
        Training epochs of ``fit``.
    optimizer : {'sgd', 'adam'}, default='sgd'
    l1, l2 : float, default=0.0
        Weight penalties.
    weight_std : float, default=0.01
        Std of the Gaussian initial weights.
    zero_fields : bool, default=False
        Keep all fields at zero.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, minibatch order and chains.
    verbose : int, default=0
        Print one line per epoch when > 0.

    Attributes
    ----------
    rbm_ : rbm_explorer.rbm.RBM
    components_ : ndarray (n_components, n_visible_features)
    intercept_hidden_ : ndarray (n_components,)
    intercept_visible_ : ndarray (n_visible_features,)
    n_features_in_ : int
    feature_names_in_ : ndarray, only when fitted on data with string column names
    n_iter_ : int, epochs trained so far
    history_ : rbm_explorer.training.loop.History
    q_ : int, Potts states (``visible='potts'`` only)
    """

    def __init__(self, n_components=100, *, visible="binary", hidden="binary", algorithm="pcd", gibbs_steps=1,
                 batch_size=100, n_chains=None, learning_rate=0.01, n_iter=10, optimizer="sgd", l1=0.0, l2=0.0,
                 weight_std=0.01, zero_fields=False, random_state=None, verbose=0):
        self.n_components = n_components
        self.visible = visible
        self.hidden = hidden
        self.algorithm = algorithm
        self.gibbs_steps = gibbs_steps
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.optimizer = optimizer
        self.l1 = l1
        self.l2 = l2
        self.weight_std = weight_std
        self.zero_fields = zero_fields
        self.random_state = random_state
        self.verbose = verbose

    # --- hyper-parameters --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for role in ("visible", "hidden"):
            kind, allowed = getattr(self, role), layer_kinds(role)
            if kind not in allowed:
                raise ValueError(f"{role} must be one of {allowed}, got {kind!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {self.optimizer!r}")
        _as_int("n_components", self.n_components, 1)
        _as_int("n_iter", self.n_iter, 1)
        if self.n_chains is not None:
            _as_int("n_chains", self.n_chains, 1)
        self._config(batch_size=_as_int("batch_size", self.batch_size, 1), n_chains=None, epochs=1, seed=0)

    def _config(self, *, batch_size: int, n_chains: int | None, epochs: int, seed: int,
                snapshot_epochs=(0,)) -> TrainingConfig:
        """A TrainingConfig from the hyper-parameters (it validates the training options)."""
        return TrainingConfig(
            algorithm=self.algorithm, gibbs_steps=_as_int("gibbs_steps", self.gibbs_steps, 1),
            batch_size=batch_size, n_chains=n_chains, epochs=epochs, learning_rate=float(self.learning_rate),
            optimizer=self.optimizer, l1=float(self.l1), l2=float(self.l2), zero_fields=bool(self.zero_fields),
            weight_std=float(self.weight_std), seed=seed, snapshot_epochs=snapshot_epochs,
        )

    # --- data ----------------------------------------------------------------------------------------------
    def _natural(self, X: np.ndarray, define_options: bool = False) -> np.ndarray:
        """Check validated float data against the visible kind (``Layer.states_from_data``); natural states.

        ``define_options`` (a fresh model) learns the layer's options from these data, stored as attributes
        with a trailing underscore (``q_`` for Potts); otherwise the learned ones are used."""
        cls = layer_for_role(self.visible, "visible")
        if define_options:
            for name in option_names():
                self.__dict__.pop(f"{name}_", None)
            for name, value in cls.options_from_data(X).items():
                setattr(self, f"{name}_", value)
        return cls.zeros(X.shape[1], **self._visible_options()).states_from_data(X)

    def _visible_options(self) -> dict:
        return {name: getattr(self, f"{name}_") for name in layer_class(self.visible).option_names}

    def _validate(self, X, reset: bool) -> np.ndarray:
        return validate_data(self, X, reset=reset, dtype=np.float64)

    # --- training ------------------------------------------------------------------------------------------
    def _initialize(self, natural: np.ndarray) -> None:
        """A fresh model for ``natural`` data; forgets any previous training."""
        for name in ("rbm_", "components_", "intercept_hidden_", "intercept_visible_", "n_iter_", "history_"):
            self.__dict__.pop(name, None)
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self._train_state = None
        self._chains = self.n_chains or min(self.batch_size, len(natural))
        config = self._config(batch_size=1, n_chains=None, epochs=1, seed=self._seed)
        options, n_visible = self._visible_options(), natural.shape[1]
        layer = layer_class(self.visible).zeros(n_visible, **options)
        self.rbm_ = initialize_rbm(self.visible, self.hidden, n_visible, int(self.n_components),
                                   layer.features(natural), config, visible_options=options)
        self.history_ = History()
        self.n_iter_ = 0

    def _train(self, natural: np.ndarray, epochs: int) -> None:
        first = self._train_state is None
        batch = min(self.batch_size, len(natural))
        config = self._config(batch_size=batch, n_chains=self._chains, epochs=self.n_iter_ + epochs,
                              seed=self._seed, snapshot_epochs=(0,) if first else ())
        trainer = _Trainer(self.rbm_, natural, config, resuming=not first)
        if not first:
            trainer.load_state_dict(self._train_state, resized_chains=True)
        for record in trainer.run():
            if self.verbose:
                print(f"[{type(self).__name__}] epoch {record.epoch}, reconstruction error "
                      f"{record.reconstruction_error:.4f}, {record.seconds:.2f} s")
        self._train_state = trainer.state_dict()
        self.history_ = trainer.history
        self.n_iter_ = trainer.epoch
        rbm = self.rbm_
        self.components_ = rbm.weight_matrix.T.copy()
        self.intercept_hidden_ = rbm.hidden.fields.copy()
        self.intercept_visible_ = rbm.visible.feature_fields.copy()

    # --- public API ----------------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train a fresh model for ``n_iter`` epochs on ``X`` (n_samples x n_visible). ``y`` is ignored."""
        self._check_params()
        X = self._validate(X, reset=True)
        natural = self._natural(X, define_options=True)
        self._initialize(natural)
        self._train(natural, int(self.n_iter))
        return self

    def partial_fit(self, X, y=None):
        """Train one epoch over ``X``: a fresh model on the first call, the same model continued afterwards
        (also after ``fit``). ``y`` is ignored."""
        self._check_params()
        first = not hasattr(self, "rbm_")
        X = self._validate(X, reset=first)
        natural = self._natural(X, define_options=first)
        if first:
            self._initialize(natural)
        self._train(natural, 1)
        return self

    def transform(self, X):
        """Hidden conditional means E[h | v], (n_samples, n_components)."""
        check_is_fitted(self)
        natural = self._natural(self._validate(X, reset=False))
        return self.rbm_.mean_h_from_v(natural)

    def score_samples(self, X):
        """``-F(v)`` per sample: the log-likelihood log P(v) up to the model's constant log Z."""
        check_is_fitted(self)
        natural = self._natural(self._validate(X, reset=False))
        return -self.rbm_.free_energy_v(natural)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        # binary and Potts data are non-negative; Potts data are integer categories
        cls = layer_class(self.visible) if self.visible in layer_kinds("visible") else None
        tags.input_tags.positive_only = bool(cls and cls.nonnegative_data)
        tags.input_tags.categorical = bool(cls and cls.categorical_data)
        return tags

    def __setstate__(self, state):
        # Pickling stores RBM.weight_matrix and RBM.weights as two arrays; re-make the view so that training
        # after unpickling (partial_fit) updates the model the RBM actually uses.
        super().__setstate__(state)
        rbm = self.__dict__.get("rbm_")
        if rbm is not None and not np.shares_memory(rbm.weight_matrix, rbm.weights):
            self.rbm_ = _Model(rbm.visible, rbm.hidden, rbm.weights, rbm.label, rbm.label_weights)


RBM = RBMEstimator
