"""Hyper-parameters of a training run, validated up front so that a bad value fails before any work."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

ALGORITHMS = ("pcd", "cd", "rdm")
SCHEDULES = ("constant", "linear", "exponential")


@dataclass
class TrainingConfig:
    """One training run.

    algorithm : 'pcd' (persistent chains), 'cd' (chains restart at the minibatch) or 'rdm' (chains restart from
        uniform noise, as in Carbone, Decelle, Rosset and Seoane 2023 and Toledo-Marin, Maiti, Fox and Melko
        2025); all use ``gibbs_steps`` sweeps per update.
    n_chains : negative chains for PCD and Rdm (default: the batch size); CD uses one chain per sample.
    learning_rate, final_learning_rate, schedule : the rate goes from the first to the final value over the run,
        linearly or exponentially ('constant' ignores the final value).
    optimizer : 'sgd' or 'adam'.  l1, l2 : weight penalties.
    zero_fields : keep all fields at 0 (the Ising RBMs: g = theta = 0 keeps E(-v) = E(v)).
    weight_std : std of the Gaussian initial weights (Hinton's 0.01).
    snapshot_epochs : epochs after which W and the fields are stored in the history (0 = the initial ones);
        the singular values of W are recorded after every epoch regardless.
    """

    algorithm: str = "pcd"
    gibbs_steps: int = 1
    batch_size: int = 100
    n_chains: int | None = None
    epochs: int = 10
    learning_rate: float = 0.01
    final_learning_rate: float | None = None
    schedule: str = "constant"
    optimizer: str = "sgd"
    l1: float = 0.0
    l2: float = 0.0
    zero_fields: bool = False
    weight_std: float = 0.01
    seed: int = 0
    snapshot_epochs: tuple[int, ...] = (0,)
    monitor_samples: int = 500

    def __post_init__(self):
        problems = []
        if self.algorithm not in ALGORITHMS:
            problems.append(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        for name in ("gibbs_steps", "batch_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if self.n_chains is not None and self.n_chains < 1:
            problems.append(f"n_chains must be positive, got {self.n_chains}")
        for name in ("learning_rate", "weight_std"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.final_learning_rate is not None and not self.final_learning_rate > 0:
            problems.append(f"final_learning_rate must be positive, got {self.final_learning_rate}")
        for name in ("l1", "l2"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if problems:
            raise ValueError("; ".join(problems))
        self.snapshot_epochs = tuple(int(e) for e in self.snapshot_epochs)
        for name in ("gibbs_steps", "batch_size", "epochs"):
            setattr(self, name, int(getattr(self, name)))

    @property
    def chains(self) -> int:
        return self.n_chains or self.batch_size

    def learning_rate_at(self, progress: float) -> float:
        """Rate at ``progress`` in [0, 1] of the run."""
        final = self.final_learning_rate or self.learning_rate
        if self.schedule == "linear":
            return self.learning_rate + progress * (final - self.learning_rate)
        if self.schedule == "exponential":
            return self.learning_rate * (final / self.learning_rate) ** progress
        return self.learning_rate

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainingConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training options {unknown}; known: {sorted(known)}")
        return cls(**values)
