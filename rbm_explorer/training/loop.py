"""The training loop: one loop for PCD, CD and Rdm, which differ only in where the negative chains start.

Each update: take a minibatch, compute the positive moments, run the negative chains (a ``GibbsEngine``) for
``gibbs_steps`` sweeps, form the likelihood gradient (``gradients.py``), subtract the weight penalties and the
quadratic-constraint gradient, take an optimizer step, re-zero the fields if asked, and project the weights of
linear-constrained units (Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Eqs. 6-10: the quadratic penalty
is a hook before the step, the linear constraint a projection after it).

Randomness: the minibatch order of epoch e comes from ``SeedSequence([seed, e])`` and the chains own their
streams, so a run resumed from a checkpoint reaches the same weights as an uninterrupted one. ``run`` can stop
at any update boundary (``stop``); the trainer then remembers the next minibatch of the epoch (``batch``), and
a later ``run`` - or a trainer resumed from a checkpoint taken there - replays the rest of that epoch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from rbm_explorer.analysis.spectra.free_energy import summarize_projections
from rbm_explorer.analysis.spectra.reciprocal import oriented_svd
from rbm_explorer.io.weight_history import Modes, Snapshot, WeightHistory
from rbm_explorer.io.weight_history import singular_values as spectrum_of
from rbm_explorer.layers import layer_for_role
from rbm_explorer.rbm import RBM
from rbm_explorer.sampling import GibbsEngine
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.constraints import ConstraintSet
from rbm_explorer.training.gradients import likelihood_gradient, moments
from rbm_explorer.training.optimizers import make_optimizer


SNAPSHOT_MODES = 10  # top singular triplets kept at each snapshot
PROJECTED_TEST = 2000  # held-out samples projected on them


@dataclass
class UpdateRecord:
    """What one update did; callbacks receive it (``trainer.live_statistics()`` gives samples, hidden-input
    statistics and singular values when a view wants them)."""

    update: int
    epoch: int
    learning_rate: float
    seconds: float
    total_updates: int


@dataclass
class EpochRecord:
    """The monitors of one finished epoch (stored in the metadata of model files and checkpoints)."""

    epoch: int
    reconstruction_error: float
    seconds: float

    @classmethod
    def from_dict(cls, record: dict) -> "EpochRecord":
        """From a stored record; keys of older files (their singular values) are left to the weight history."""
        return cls(int(record["epoch"]), float(record["reconstruction_error"]), float(record["seconds"]))


@dataclass
class History:
    """What a run has recorded: per-epoch monitors, the singular values of W at epoch 0 and after every epoch
    (``spectra``: epoch -> float32 values, descending), and parameter snapshots at the config's
    ``snapshot_epochs`` (epoch -> ``Snapshot`` with W and the fields)."""

    epochs: list[EpochRecord] = field(default_factory=list)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    spectra: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def weight_snapshots(self) -> dict[int, np.ndarray]:
        """Epoch -> weight matrix of each snapshot."""
        return {epoch: snap.weights for epoch, snap in self.snapshots.items()}

    def weight_history(self) -> WeightHistory:
        """The record in the form model files store and ``ModelFile.weight_history()`` returns."""
        epochs = sorted(self.spectra)
        width = len(self.spectra[epochs[0]]) if epochs else 0
        values = np.array([self.spectra[e] for e in epochs], dtype=np.float32).reshape(len(epochs), width)
        return WeightHistory(np.array(epochs, dtype=np.int64), values,
                             tuple(self.snapshots[e] for e in sorted(self.snapshots)))

    @classmethod
    def from_weight_history(cls, epochs: list[EpochRecord], history: WeightHistory) -> "History":
        return cls(list(epochs), {s.epoch: s for s in history.snapshots},
                   {int(e): np.asarray(v, np.float32) for e, v in zip(history.epochs, history.singular_values)})

    def copy(self) -> "History":
        """An independent copy (snapshots are never changed in place, so they are shared)."""
        return History(list(self.epochs), dict(self.snapshots), dict(self.spectra))


def initialize_rbm(visible_kind: str, hidden_kind: str, n_visible: int, n_hidden: int, data_features: np.ndarray,
                   config: TrainingConfig, visible_options: dict | None = None) -> RBM:
    """Gaussian weights N(0, weight_std^2), visible fields of the independent-unit model of the data (or zero
    with ``zero_fields``), zero hidden fields."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x1A17]))
    visible = layer_for_role(visible_kind, "visible").zeros(n_visible, **(visible_options or {}))
    if not config.zero_fields:
        visible = visible.with_fields(visible.fields_from_mean(data_features.mean(axis=0)).reshape(visible.field_shape))
    hidden = layer_for_role(hidden_kind, "hidden").zeros(n_hidden)
    weights = config.weight_std * rng.standard_normal(visible.field_shape + (n_hidden,))
    return RBM(visible, hidden, weights)


class Trainer:
    """Trains ``rbm`` in place on natural visible states ``data`` (n x N).

    Parameters
    ----------
    rbm : RBM without a label unit.
    data : natural states of the visible kind.
    config : TrainingConfig
    constraints : a ``ConstraintSet``, a single constraint, or None.
    sample_weights : optional per-sample weights of the data.
    resuming : the model comes from a checkpoint: skip the initial projection and epoch-0 snapshot.
    test_data : held-out natural states (at most ``PROJECTED_TEST`` are used): at each snapshot their
        projections on the top modes are kept beside the persistent chains' (Toledo-Marin et al. 2025, Figs. 7-8).
    snapshot_modes : how many top singular triplets a snapshot keeps (0: none).

    Recording a snapshot reads the chains and draws no random numbers, so it never changes the run.
    """

    def __init__(self, rbm: RBM, data, config: TrainingConfig, constraints=None, sample_weights=None,
                 resuming: bool = False, test_data=None, snapshot_modes: int = SNAPSHOT_MODES):
        if rbm.label is not None:
            raise ValueError("training RBMs with a label unit is not supported by this trainer yet")
        if constraints is not None and not isinstance(constraints, ConstraintSet):
            constraints = ConstraintSet([constraints])
        self.rbm, self.config, self.constraints = rbm, config, constraints
        # float32 once: exact for 0/1, +-1 and one-hot data, and what the float32 moment products take
        self.features = rbm.visible.features(np.asarray(data)).astype(np.float32)
        if len(self.features) < config.batch_size:
            raise ValueError(f"{len(self.features)} samples are fewer than one batch of {config.batch_size}")
        self.sample_weights = None if sample_weights is None else np.asarray(sample_weights, np.float64)
        self.test_features = None if test_data is None or not len(test_data) else \
            rbm.visible.features(np.asarray(test_data)[:PROJECTED_TEST]).astype(np.float32)
        self.snapshot_modes = int(snapshot_modes)
        self.params = [rbm.weight_matrix, rbm.visible.feature_fields, rbm.hidden.fields]
        if not np.shares_memory(rbm.weight_matrix, rbm.weights):
            raise ValueError("weight_matrix must be a view of weights so that updates reach the model")
        self.optimizer = make_optimizer(config.optimizer, self.params)
        chains = config.batch_size if config.algorithm == "cd" else config.chains
        start = None if config.algorithm == "rdm" else self.features[:chains]
        self.engine = GibbsEngine(rbm, chains, seed=np.random.SeedSequence([config.seed, 0xC4A1]),
                                  init_v=None if start is None else rbm.visible.natural_from_features(start))
        self.epoch = 0
        self.update = 0
        self.batch = 0  # the next minibatch of the current epoch's order (not 0 only after a stop mid-epoch)
        self.history = History()
        monitor = np.random.default_rng(np.random.SeedSequence([config.seed, 0x3017]))
        self.monitor_index = monitor.choice(len(self.features), min(config.monitor_samples, len(self.features)),
                                            replace=False)
        if not resuming:  # a resumed run's weights are already projected; projecting again moves rounding bits
            if constraints is not None:
                constraints.project(rbm.weight_matrix)
            self._record_parameters()

    # --- state ---------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything besides the model, the data and the config that decides the rest of the run, as copies:
        the epoch, update and minibatch counters, the optimizer moments, the chains with their random state,
        and the history. ``load_state_dict`` on a trainer of the same model, data and config continues the run
        exactly (checkpoints write this to a file; the estimator keeps it between ``partial_fit`` calls)."""
        st = self.engine.state
        return {
            "epoch": self.epoch,
            "update": self.update,
            "batch": self.batch,
            "optimizer": {k: np.array(v, copy=True) for k, v in self.optimizer.state_arrays().items()},
            "chains": {"v": st.v.copy(), "h": st.h.copy(), "steps": st.steps, **st.random_state()},
            "history": self.history.copy(),
        }

    def load_state_dict(self, state: dict, resized_chains: bool = False) -> None:
        """Continue from ``state_dict()``. ``resized_chains`` accepts saved chains of another size (CD chains
        follow the batch, which may change between ``partial_fit`` calls): the fresh chains are kept then,
        with the saved generator state. Otherwise chains of another size raise ``ValueError``."""
        st, chains = self.engine.state, state["chains"]
        same = np.shape(chains["v"]) == st.v.shape and np.shape(chains["h"]) == st.h.shape
        if not same and not resized_chains:
            raise ValueError(f"the saved chains have shape {np.shape(chains['v'])}, this trainer's {st.v.shape}")
        if not 0 <= int(state["batch"]) < self.updates_per_epoch:
            raise ValueError(f"update {state['update']} (minibatch {state['batch']}) does not lie in epoch "
                             f"{state['epoch']} of {self.updates_per_epoch} updates; was it saved with other data?")
        self.optimizer.load_state_arrays(state["optimizer"])
        if same:
            st.v[...] = chains["v"]
            st.h[...] = chains["h"]
            st.steps = int(chains["steps"])
            st.set_random_state(chains)
        else:
            st.rng.bit_generator.state = chains["rng"]
        self.epoch, self.update, self.batch = int(state["epoch"]), int(state["update"]), int(state["batch"])
        self.history = state["history"].copy()

    def _record_parameters(self) -> None:
        """The history entries of the current epoch: the spectrum, and a snapshot at snapshot epochs."""
        rbm = self.rbm
        self.history.spectra[self.epoch] = spectrum_of(rbm.weight_matrix)
        if self.epoch in self.config.snapshot_epochs:
            modes = projections = None
            k = min(self.snapshot_modes, *rbm.weight_matrix.shape)
            if k > 0:
                modes = Modes(*oriented_svd(rbm.weight_matrix, k))
                test = None if self.test_features is None else self.test_features @ modes.u
                projections = summarize_projections(self.engine.state.v @ modes.u, test)
            self.history.snapshots[self.epoch] = Snapshot(self.epoch, rbm.weight_matrix.copy(),
                                                          rbm.visible.feature_fields.copy(), rbm.hidden.fields.copy(),
                                                          modes, projections)

    @property
    def updates_per_epoch(self) -> int:
        return len(self.features) // self.config.batch_size

    @property
    def total_updates(self) -> int:
        return self.updates_per_epoch * self.config.epochs

    def _negative_features(self, batch: np.ndarray) -> np.ndarray:
        cfg, engine = self.config, self.engine
        engine.set_model(self.rbm)
        if cfg.algorithm == "cd":
            engine.reinitialize(self.rbm.visible.natural_from_features(batch))
        elif cfg.algorithm == "rdm":
            engine.reinitialize(None)
        engine.step(cfg.gibbs_steps)
        return engine.state.v

    def _update(self, batch_index: np.ndarray) -> None:
        cfg, rbm = self.config, self.rbm
        batch = self.features[batch_index]
        weights = None if self.sample_weights is None else self.sample_weights[batch_index]
        negative_features = self._negative_features(batch)  # refreshes the engine's float32 weights
        w32 = self.engine.weight_matrix32
        positive = moments(rbm, batch, weights, weight_matrix=w32)
        negative = moments(rbm, negative_features, weight_matrix=w32)
        grad = likelihood_gradient(rbm, positive, negative)
        w = rbm.weight_matrix
        if cfg.l2:
            grad.weights -= cfg.l2 * w
        if cfg.l1:
            grad.weights -= cfg.l1 * np.sign(w)
        if self.constraints is not None:
            grad.weights -= self.constraints.penalty_gradient(w)
        if not all(np.isfinite(g).all() for g in grad.as_list()):
            raise FloatingPointError(
                f"training diverged at update {self.update} (epoch {self.epoch}): the gradient is not finite; "
                "lower the learning rate or the quadratic strength"
            )
        lr = cfg.learning_rate_at(self.update / max(1, self.total_updates - 1))
        self.optimizer.step(grad.as_list(), lr)
        if cfg.zero_fields:
            self.params[1][...] = 0.0
            self.params[2][...] = 0.0
        if self.constraints is not None:
            self.constraints.project(w)
        self.update += 1
        self._last_lr = lr

    def _epoch_order(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, epoch]))
        return rng.permutation(len(self.features))

    def live_statistics(self, singular_values: bool = True) -> dict:
        """What a live view shows every n updates: the chains' visible states, the mean and spread of each
        hidden unit's input over the monitored data, and the singular values of W (Toledo-Marin,
        Maiti, Fox and Melko (2025), Fig. 3)."""
        rbm = self.rbm
        inputs = self.features[self.monitor_index] @ rbm.weight_matrix
        stats = {
            "samples": rbm.visible.natural_from_features(self.engine.state.v.copy()),
            "hidden_input_mean": inputs.mean(axis=0),
            "hidden_input_std": inputs.std(axis=0),
        }
        if singular_values:
            stats["singular_values"] = spectrum_of(rbm.weight_matrix)
        return stats

    def reconstruction_error(self) -> float:
        """Mean squared difference between monitored data and E[v | E[h | v]] (a cheap progress monitor)."""
        rbm, data = self.rbm, self.features[self.monitor_index]
        mean_h = rbm.hidden.mean_from_inputs(data @ rbm.weight_matrix)
        mean_v = rbm.visible.mean_from_inputs(mean_h @ rbm.weight_matrix.T)
        return float(np.mean((data - mean_v) ** 2))

    def step(self) -> EpochRecord | None:
        """One update on the next minibatch of the current epoch. When it was the epoch's last, the epoch is
        closed (monitors, spectrum, snapshot) and its record returned; None otherwise. A live runner calls this
        between its commands; ``run`` is a loop over it."""
        if self.epoch >= self.config.epochs:
            raise ValueError(f"the run is complete: all {self.config.epochs} epochs are trained")
        if not 0 <= self.batch < self.updates_per_epoch:
            raise ValueError(f"minibatch {self.batch} does not lie in an epoch of {self.updates_per_epoch}")
        if getattr(self, "_order_epoch", None) != self.epoch:
            self._order, self._order_epoch, self._epoch_seconds = self._epoch_order(self.epoch), self.epoch, 0.0
        size = self.config.batch_size
        t0 = time.perf_counter()
        self._update(self._order[self.batch * size : (self.batch + 1) * size])
        self.batch += 1
        self.last_update = UpdateRecord(self.update, self.epoch, self._last_lr, time.perf_counter() - t0,
                                        self.total_updates)
        self._epoch_seconds += self.last_update.seconds
        return self._end_epoch(self._epoch_seconds) if self.batch == self.updates_per_epoch else None

    def run(self, callback: Callable[[UpdateRecord], None] | None = None, callback_every: int = 1,
            stop: Callable[[], bool] | None = None) -> Iterator[EpochRecord]:
        """Train the remaining epochs, yielding an ``EpochRecord`` after each; ``callback`` sees updates.

        ``stop`` is asked before every update; when it returns True the run returns at once, between two
        updates, where ``save_checkpoint`` captures a state that resumes exactly (``batch`` says where)."""
        while self.epoch < self.config.epochs:
            if stop is not None and stop():
                return
            record = self.step()
            if callback is not None and self.update % callback_every == 0:
                callback(self.last_update)
            if record is not None:
                yield record

    def _end_epoch(self, seconds: float) -> EpochRecord:
        """Close the epoch: count it, record the monitors and, at snapshot epochs, the weights and spectrum."""
        self.epoch += 1
        self.batch = 0
        record = EpochRecord(self.epoch, self.reconstruction_error(), seconds)
        self._record_parameters()
        self.history.epochs.append(record)
        return record
