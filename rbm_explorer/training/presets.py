"""Named training recipes: the bundled models of ``assets/models`` and handy starting points.

Times are for the 2-core machine of benchmarks/README.md (assets/README.md lists them). Face models use
48 x 48 faces, the smaller of the two sizes the bundled-model budget allows, so that the whole set trains
within 45 minutes on 2 cores.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.recipes import Recipe


# the training history of the MNIST models: full W at 0 and the last epoch, top modes and projections between
# (the spectra pages replay it: Toledo-Marin, Maiti, Fox and Melko 2025, Figs. 3 and 7-8)
MNIST_SNAPSHOTS = (0, 1, 2, 5, 10, 20, 50, 100)


def _mnist(digits, constraint, released, epochs=200, n_chains=100, learning_rate=0.02, final_learning_rate=0.002):
    config = TrainingConfig(algorithm="pcd", gibbs_steps=10, batch_size=100, n_chains=n_chains, epochs=epochs,
                            learning_rate=learning_rate, final_learning_rate=final_learning_rate, schedule="linear",
                            optimizer="sgd",
                            snapshot_epochs=MNIST_SNAPSHOTS + (epochs,))
    return Recipe("mnist", {"digits": digits, "threshold": 0.5}, hidden=400, constraint=constraint,
                  released=released, config=config)


def _faces(attribute, constraint, released, epochs=60, learning_rate=0.02, final_learning_rate=0.002):
    config = TrainingConfig(algorithm="pcd", gibbs_steps=10, batch_size=100, n_chains=100, epochs=epochs,
                            learning_rate=learning_rate, final_learning_rate=final_learning_rate, schedule="linear",
                            optimizer="sgd",
                            snapshot_epochs=(0, epochs))
    return Recipe("faces", {"attribute": attribute, "size": 48, "n_samples": 10000}, hidden=400,
                  constraint=constraint, released=released, config=config)


# Ising RBMs (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Sec. V and Fig. 7): spin visible and spin
# hidden units with zero fields, four constraint layouts. The training recipe found for L = 16 (docs/fig7/README.md
# tells how): plain SGD, PCD-10, 512 hidden units, the rate falling from 0.02 to 0.001 over 400 epochs for
# the models compared with the Monte Carlo values point by point (unconstrained, released) and 200 for the
# fully constrained ones, whose checks are qualitative (no magnetization; a heat-capacity peak or none): that
# keeps the 20 models of the grid within 90 minutes on 2 cores.
ISING_VARIANTS = {"none": ("none", 0), "linear_all": ("linear", 0), "quadratic_all": ("quadratic", 0),
                  "linear_released1": ("linear", 1)}
ISING_EPOCHS = {"none": 400, "linear_all": 200, "quadratic_all": 200, "linear_released1": 400}
ISING_TRAINING = {"algorithm": "pcd", "gibbs_steps": 10, "batch_size": 100,
                  "learning_rate": 0.02, "final_learning_rate": 0.001, "schedule": "exponential",
                  "optimizer": "sgd", "zero_fields": True}
ISING_HIDDEN = 512
ISING_QUADRATIC_RANK = 32  # Q(2) kept as its top 32 components (99.9 % of its squared norm at L = 16)


def ising_seed(seed: int, beta: float, variant: str, purpose: int = 0) -> int:
    """A seed of its own for each (β, variant) and purpose (0: training, 1: sampling), derived from ``seed``."""
    beta_key = int(round(float(beta) * 2**40))
    sequence = np.random.SeedSequence([int(seed), beta_key, list(ISING_VARIANTS).index(variant), purpose])
    return int(sequence.generate_state(1)[0])


def ising_recipe(L: int, beta: float, variant: str, *, n_data: int = 10000, hidden: int = ISING_HIDDEN,
                 training: dict | None = None, quadratic_strength: float = 50.0,
                 quadratic_rank: int = ISING_QUADRATIC_RANK, seed: int = 0) -> Recipe:
    """The recipe of an Ising RBM variant (``ISING_VARIANTS``) at (L, β); ``training`` overrides fields of
    ``ISING_TRAINING`` and the variant's ``ISING_EPOCHS``. The quadratic variant decorrelates
    from |sum v| (the Q(2) of Eq. 18, truncated so that it is stored factored), with the linear projection on
    the same units."""
    if variant not in ISING_VARIANTS:
        raise ValueError(f"unknown Ising variant {variant!r}; known: {', '.join(ISING_VARIANTS)}")
    constraint, released = ISING_VARIANTS[variant]
    fields = {**ISING_TRAINING, "epochs": ISING_EPOCHS[variant], **(training or {})}
    # the first and the last weights: the last is the model itself, so it costs nothing in the file
    fields.setdefault("snapshot_epochs", (0, fields["epochs"]))
    config = TrainingConfig(**fields, seed=ising_seed(seed, beta, variant))
    quadratic = constraint == "quadratic"
    return Recipe("ising", {"L": int(L), "beta": float(beta), "n": int(n_data), "seed": int(seed)}, hidden=hidden,
                  hidden_kind="spin", constraint=constraint, released=released,
                  quadratic_strength=quadratic_strength, quadratic_rank=quadratic_rank if quadratic else None,
                  quadratic_statistic="abs_sum" if quadratic else "label", config=config)


ISING_BUNDLED = [(0.44, v) for v in ISING_VARIANTS] + [(b, "linear_released1") for b in (0.35, 0.40, 0.46, 0.50)]

PRESETS: dict[str, Recipe] = {
    "mnist01_none": _mnist("0,1", "none", 0),
    "mnist01_linear_all": _mnist("0,1", "linear", 0),
    "mnist01_quadratic_all": _mnist("0,1", "quadratic", 0),
    "mnist01_linear_released1": _mnist("0,1", "linear", 1),
    # 500 persistent chains, 300 epochs and a learning rate of 0.1 (down to 0.01): of the variants tried
    # (assets/README.md) the one whose released units generate their classes best (Fig. 9e)
    "mnist0123_linear_released3": _mnist("0-3", "linear", 3, epochs=300, n_chains=500, learning_rate=0.1,
                                         final_learning_rate=0.01),
    # the faster rate makes the released unit generate smiles (assets/README.md), as for MNIST 0-3
    "faces_smiling_linear_released1": _faces("smiling", "linear", 1, learning_rate=0.1, final_learning_rate=0.01),
    "faces_eyeglasses_linear_released1": _faces("eyeglasses", "linear", 1),
    "faces_smiling_linear_all": _faces("smiling", "linear", 0),
    # the Ising models of the Fig. 7 grid that ship with the app (the four variants at 0.44, the released one at
    # every beta); ``rbm-explorer report fig7`` trains the same recipes
    **{f"ising16_beta{beta:.2f}_{variant}": ising_recipe(16, beta, variant) for beta, variant in ISING_BUNDLED},
}


def preset(name: str) -> Recipe:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
