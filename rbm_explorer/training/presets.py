"""Named training recipes: the bundled models of ``assets/models`` and handy starting points.

Times are for the 2-core machine of benchmarks/README.md (assets/README.md lists them). Face models use
48 x 48 faces, the smaller of the two sizes the bundled-model budget allows, so that the whole set trains
within 45 minutes on 2 cores.
"""

from __future__ import annotations

from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.recipes import Recipe


def _mnist(digits, constraint, released, epochs=200, n_chains=100, learning_rate=0.02, final_learning_rate=0.002):
    config = TrainingConfig(algorithm="pcd", gibbs_steps=10, batch_size=100, n_chains=n_chains, epochs=epochs,
                            learning_rate=learning_rate, final_learning_rate=final_learning_rate, schedule="linear",
                            optimizer="sgd",
                            snapshot_epochs=(0, 20, epochs))
    return Recipe("mnist", {"digits": digits, "threshold": 0.5}, hidden=400, constraint=constraint,
                  released=released, config=config)


def _faces(attribute, constraint, released, epochs=60, learning_rate=0.02, final_learning_rate=0.002):
    config = TrainingConfig(algorithm="pcd", gibbs_steps=10, batch_size=100, n_chains=100, epochs=epochs,
                            learning_rate=learning_rate, final_learning_rate=final_learning_rate, schedule="linear",
                            optimizer="sgd",
                            snapshot_epochs=(0, epochs))
    return Recipe("faces", {"attribute": attribute, "size": 48, "n_samples": 10000}, hidden=400,
                  constraint=constraint, released=released, config=config)


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
}


def preset(name: str) -> Recipe:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
