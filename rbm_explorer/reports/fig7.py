"""Fig. 7 of Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023): RBMs trained on 2D Ising data across β.

Four RBM variants are trained at each β on equilibrium configurations of the L × L ferromagnet (spin visible
and spin hidden units, zero fields, so that E(−v) = E(v); Sec. V):

* ``none``: unconstrained (Fig. 7b);
* ``linear_all``: every weight vector orthogonal to q(1), i.e. Σ_i w_iμ = 0 (Eq. 6; Fig. 7c);
* ``quadratic_all``: the linear projection plus the soft quadratic penalty built from the Ising Q(2) of Eq. 18
  (Fig. 7d), stored factored (a truncated rank) rather than as a dense N × N matrix;
* ``linear_released1``: linear on all units but one, the released unit h* (Fig. 7e), whose weights become
  uniform with value w*, compared with the heuristic w* = 4β|m*| (Eq. 24; Fig. 7i).

Each model is then sampled by block Gibbs from the training configurations, and the same observables as for
the Monte Carlo data (the training set itself) are measured on its samples with error bars
(``rbm_explorer.ising.statistics.ising_observables``): E, |m| (Eq. 14), C (Eq. 15), χ (Eq. 16) and U₄.

The grid is one Dask job (``rbm_explorer.ising.cluster``): one task per (β, variant), each training (or
reusing) its model in the output folder and sampling it. A task's seeds come from (seed, β, variant), so the
numbers do not depend on where or in which order tasks run. ``fig7.csv`` is rewritten atomically as each task
finishes; ``run_fig7`` then draws ``fig7.png`` (``rbm_explorer.plotting.fig7_figure``).
"""

from __future__ import annotations

import csv
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rbm_explorer.training.presets import (
    ISING_HIDDEN,
    ISING_QUADRATIC_RANK,
    ISING_TRAINING,
    ISING_VARIANTS,
    ising_recipe,
    ising_seed,
)

VARIANTS = tuple(ISING_VARIANTS)
FIGURE_BETAS = (0.35, 0.40, 0.44, 0.46, 0.50)
OBSERVABLES = ("energy", "abs_magnetization", "heat_capacity", "susceptibility", "binder")
DEFAULT_TRAINING = ISING_TRAINING
COLUMNS = (("L", "beta", "variant", "hidden", "n_data")
           + tuple(c for q in OBSERVABLES for c in (q, f"{q}_err"))
           + tuple(c for q in OBSERVABLES for c in (f"mc_{q}", f"mc_{q}_err"))
           + ("energy_exact", "heat_capacity_exact", "onsager_magnetization", "w_star", "w_star_spread",
              "w_star_heuristic", "train_seconds", "sample_seconds", "reused", "notes"))


@dataclass(frozen=True)
class Fig7Plan:
    """The grid and how each point is trained and sampled.

    L, betas, variants : the lattice size, the inverse temperatures and the RBM variants (``VARIANTS``).
    n_data : equilibrium configurations per β (80 % train the model; all of them give the Monte Carlo values).
    hidden : spin hidden units.  training : ``TrainingConfig`` fields.  quadratic_strength, quadratic_rank : the
        penalty λ (on a unit-norm Q(2)) and the number of Q(2) components kept (stored as factors).
    chains, burn, sweeps, measure_every : the evaluation: chains started from training configurations, burn-in
        sweeps, measured sweeps and the sweeps between measurements.
    seed : the data's seed; training and sampling seeds derive from it and from (β, variant).
    """

    L: int = 16
    betas: tuple = FIGURE_BETAS
    variants: tuple = VARIANTS
    n_data: int = 10000
    hidden: int = ISING_HIDDEN
    training: dict = field(default_factory=lambda: dict(ISING_TRAINING))
    quadratic_strength: float = 50.0
    quadratic_rank: int = ISING_QUADRATIC_RANK
    chains: int = 200
    burn: int = 1000
    sweeps: int = 2000
    measure_every: int = 10
    seed: int = 0

    def __post_init__(self):
        unknown = [v for v in self.variants if v not in ISING_VARIANTS]
        if unknown:
            raise ValueError(f"unknown Fig. 7 variant {unknown[0]!r}; known: {', '.join(VARIANTS)}")
        if not self.betas or any(not (isinstance(b, (int, float)) and 0 < b < 10) for b in self.betas):
            raise ValueError(f"betas must be positive numbers, got {self.betas!r}")
        if self.L < 4 or self.hidden < 2:
            raise ValueError(f"need L >= 4 and at least 2 hidden units, got L={self.L}, hidden={self.hidden}")
        if self.sweeps < 2 * self.measure_every or self.chains < 2 or self.burn < 0:
            raise ValueError("the evaluation needs >= 2 chains, burn >= 0 and at least two measurements")
        object.__setattr__(self, "betas", tuple(sorted(float(b) for b in self.betas)))
        object.__setattr__(self, "variants", tuple(self.variants))

    def tasks(self, out_dir) -> list["Fig7Task"]:
        return [Fig7Task(self, beta, variant, str(out_dir)) for beta in self.betas for variant in self.variants]

    def to_dict(self) -> dict:
        return {"L": self.L, "betas": list(self.betas), "variants": list(self.variants), "n_data": self.n_data,
                "hidden": self.hidden, "training": dict(self.training), "quadratic_strength": self.quadratic_strength,
                "quadratic_rank": self.quadratic_rank, "chains": self.chains, "burn": self.burn,
                "sweeps": self.sweeps, "measure_every": self.measure_every, "seed": self.seed}


def bundled_csv() -> Path:
    """The committed table of the grid (``assets/fig7/fig7.csv``; the same file as ``docs/fig7/fig7.csv``),
    which the app's Ising page draws its RBM curves from."""
    from rbm_explorer.resources import assets_dir

    return assets_dir() / "fig7" / "fig7.csv"


def model_name(L: int, beta: float, variant: str) -> str:
    """``ising{L}_beta{β:.2f}_{variant}.npz``, the names of the bundled Ising models."""
    return f"ising{L}_beta{beta:.2f}_{variant}.npz"


@dataclass(frozen=True)
class Fig7Task:
    """One (β, variant) point of a plan: train or reuse its model in ``out_dir``, then sample it."""

    plan: Fig7Plan
    beta: float
    variant: str
    out_dir: str

    @property
    def model_path(self) -> Path:
        return Path(self.out_dir) / model_name(self.plan.L, self.beta, self.variant)

    def seed(self, purpose: int) -> int:
        return ising_seed(self.plan.seed, self.beta, self.variant, purpose)

    def recipe(self):
        plan = self.plan
        return ising_recipe(plan.L, self.beta, self.variant, n_data=plan.n_data, hidden=plan.hidden,
                            training=plan.training, quadratic_strength=plan.quadratic_strength,
                            quadratic_rank=plan.quadratic_rank, seed=plan.seed)


def _json_equal(a, b) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def recipe_matches(model_file, recipe) -> bool:
    """Whether a saved model was trained by ``recipe`` (its data, layout and training config), so it is reused."""
    meta = model_file.metadata
    dataset = dict(meta.get("dataset", {}))
    dataset.pop("label_names", None)
    name = dataset.pop("name", None)
    constraint = meta.get("constraint", {})
    return (name == recipe.dataset and _json_equal(dataset, recipe.dataset_options)
            and model_file.rbm.hidden.n_units == recipe.hidden
            and constraint.get("kind") == recipe.constraint
            and len(meta.get("released_units", [])) == recipe.released
            and _json_equal(_trained_by(meta.get("training", {}).get("config")), _trained_by(recipe.config.to_dict())))


def _trained_by(config):
    """A training config without its recording choices (which epochs' weights were kept), which do not change
    the model."""
    return {k: v for k, v in config.items() if k != "snapshot_epochs"} if isinstance(config, dict) else config


def train_or_reuse(task: Fig7Task, progress=None):
    """(ModelFile, seconds spent training, reused?) for the task's model: the file in ``out_dir`` when it was
    trained by the same recipe, else a new training run (checkpointed beside it, resumed after an interruption)."""
    from rbm_explorer.io import ModelFileError, load_model
    from rbm_explorer.training.recipes import train_recipe

    recipe, path = task.recipe(), task.model_path
    if path.is_file():
        try:
            existing = load_model(path)
        except ModelFileError:
            existing = None
        if existing is not None and recipe_matches(existing, recipe):
            return existing, 0.0, True
    checkpoint = Path(f"{path}.checkpoint.npz")
    start = time.perf_counter()
    train_recipe(recipe, path, checkpoint=checkpoint, resume=checkpoint.is_file(),
                         command=f"rbm-explorer report fig7 (L={task.plan.L}, beta={task.beta:.2f}, {task.variant})",
                         progress=progress, dtype=np.float32)
    checkpoint.unlink(missing_ok=True)
    # the stored (float32) model, not the one in memory: a later run that reuses the file gives the same numbers
    return load_model(path), time.perf_counter() - start, False


def sample_configurations(rbm, start, plan: Fig7Plan, seed) -> np.ndarray:
    """(measurements, chains, N) visible samples of block Gibbs from ``start`` rows (cycled), after ``burn``."""
    from rbm_explorer.sampling import GibbsEngine

    engine = GibbsEngine(rbm, plan.chains, seed=seed, init_v=start)
    engine.step(plan.burn)
    n = plan.sweeps // plan.measure_every
    out = np.empty((n, plan.chains, rbm.visible.n_features), np.int8)
    for i in range(n):
        engine.step(plan.measure_every)
        out[i] = engine.visible_states()
    return out


def measured(series: dict, beta: float, L: int, sweeps_per_measurement: float) -> tuple[dict, list[str]]:
    """The observables of a series with their errors, and the notes of short-run warnings (signed m excluded)."""
    from rbm_explorer.ising.statistics import ShortRunWarning, ising_observables

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShortRunWarning)
        estimates = ising_observables(series, beta=beta, L=L, sweeps_per_measurement=sweeps_per_measurement)
    notes = sorted({str(w.message).split(";")[0] for w in caught
                    if issubclass(w.category, ShortRunWarning) and not str(w.message).startswith("magnetization:")})
    return estimates, notes


def released_weight(model_file) -> tuple[float, float]:
    """(w*, spread): the mean and standard deviation over sites of the released unit's weights (Fig. 7i), with
    the sign that makes w* > 0 when the unit's high state generates m > 0 (``released_classes``; the trainer
    does not flip a two-class unit, so the stored weights may have either sign)."""
    units = model_file.metadata.get("released_units") or []
    if not units:
        return math.nan, math.nan
    classes = model_file.metadata.get("released_classes") or [1]
    sign = 1.0 if classes[0] == 1 else -1.0
    w = sign * np.asarray(model_file.rbm.weight_matrix)[:, units[0]]
    return float(w.mean()), float(w.std())


def run_task(task: Fig7Task) -> tuple[dict, float]:
    """Train (or reuse) and sample one point; returns its CSV row and the wall time. Runs on a Dask worker."""
    from rbm_explorer.datasets import load_dataset
    from rbm_explorer.ising import exact
    from rbm_explorer.ising.model import IsingModel
    from rbm_explorer.ising.run import configuration_series

    start = time.perf_counter()
    plan = task.plan
    model_file, train_seconds, reused = train_or_reuse(task)
    sampling = time.perf_counter()
    dataset = load_dataset("ising", L=plan.L, beta=task.beta, n=plan.n_data, seed=plan.seed)
    train_data, _ = dataset.part("train")
    samples = sample_configurations(model_file.rbm, train_data, plan, task.seed(1))
    lattice = IsingModel(plan.L, task.beta)
    rbm_estimates, notes = measured(configuration_series(lattice, samples), task.beta, plan.L, plan.measure_every)
    mc_series = configuration_series(lattice, dataset.data[:, None, :])
    mc_estimates, mc_notes = measured(mc_series, task.beta, plan.L, 1)
    row = {"L": plan.L, "beta": task.beta, "variant": task.variant, "hidden": plan.hidden, "n_data": plan.n_data}
    for q in OBSERVABLES:
        row[q], row[f"{q}_err"] = float(rbm_estimates[q].value), float(rbm_estimates[q].error)
        row[f"mc_{q}"], row[f"mc_{q}_err"] = float(mc_estimates[q].value), float(mc_estimates[q].error)
    row["energy_exact"] = float(exact.torus_energy(plan.L, task.beta))
    row["heat_capacity_exact"] = float(exact.torus_heat_capacity(plan.L, task.beta))
    row["onsager_magnetization"] = float(exact.onsager_magnetization(task.beta))
    row["w_star"], row["w_star_spread"] = released_weight(model_file)
    row["w_star_heuristic"] = 4.0 * task.beta * row["mc_abs_magnetization"]  # Eq. 24 with z = 4
    row["train_seconds"], row["reused"] = train_seconds, reused
    row["sample_seconds"] = time.perf_counter() - sampling
    row["notes"] = " | ".join(notes + [f"Monte Carlo data: {n}" for n in mc_notes])
    return row, time.perf_counter() - start


# -- the CSV ------------------------------------------------------------------------------------------------------

def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_rows(path, rows: list[dict]) -> None:
    """Rows sorted by (β, variant order), written atomically."""
    from rbm_explorer.io.atomic import atomic_write

    ordered = sorted(rows, key=lambda r: (float(r["beta"]), VARIANTS.index(r["variant"])))
    with atomic_write(Path(path), "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow({c: _cell(row.get(c)) for c in COLUMNS})


NUMERIC = tuple(c for c in COLUMNS if c not in ("variant", "reused", "notes"))


def read_rows(path) -> list[dict]:
    """Rows of a ``fig7.csv``, numbers as floats (empty cells as nan); a file that is not one is a clear error."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("L", "beta", "variant", "abs_magnetization", "heat_capacity")
                       if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path} is not a Fig. 7 CSV: no column {missing[0]!r}")
            rows = list(reader)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a Fig. 7 CSV (not text)") from None
    out = []
    for line, row in enumerate(rows, start=2):
        parsed = dict(row)
        for c in NUMERIC:
            if c in row:
                try:
                    parsed[c] = float(row[c]) if row[c] not in ("", None) else math.nan
                except ValueError:
                    raise ValueError(f"{path}, line {line}: column {c} is not a number: {row[c]!r}") from None
        if parsed["variant"] not in ISING_VARIANTS:
            raise ValueError(f"{path}, line {line}: unknown variant {parsed['variant']!r}")
        out.append(parsed)
    return out


# -- running ------------------------------------------------------------------------------------------------------

@dataclass
class Fig7Result:
    rows: list[dict]
    seconds: float
    scheduler: str
    csv_path: Path
    figure_path: Path | None = None


def _task_key(task: Fig7Task) -> str:
    return f"fig7-L{task.plan.L}-beta{task.beta:.4g}-{task.variant}"


def run_fig7(plan: Fig7Plan, out_dir, *, scheduler: str | None = None, workers: int | None = None,
             progress: bool = True, figure: bool = True, connect_timeout: float = 20) -> Fig7Result:
    """Train and sample the grid as one Dask job, writing ``fig7.csv`` (after every finished point) and
    ``fig7.png`` in ``out_dir``; models already there with the same recipe are reused.

    ``scheduler``: None for a new ``LocalCluster`` (``workers`` single-threaded processes, one per core by
    default), an address for an existing cluster, or ``"inprocess"``.
    """
    from rbm_explorer.ising.cluster import execute

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "fig7.csv"
    rows: list[dict] = []
    start = time.perf_counter()

    def finished(task: Fig7Task, row: dict, seconds: float) -> None:
        rows.append(row)
        write_rows(csv_path, rows)

    write_rows(csv_path, rows)
    name = execute(run_task, plan.tasks(out_dir), finished, scheduler=scheduler, progress=progress,
                   workers=workers, connect_timeout=connect_timeout, label="fig7 grid", key_of=_task_key)
    result = Fig7Result(sorted(rows, key=lambda r: (r["beta"], VARIANTS.index(r["variant"]))),
                        time.perf_counter() - start, name, csv_path)
    if figure:
        from rbm_explorer.plotting.fig7_figure import write_fig7_plot

        result.figure_path = write_fig7_plot(read_rows(csv_path), out_dir / "fig7.png")
    return result


def tiny_plan(**overrides) -> Fig7Plan:
    """A grid small enough for a smoke test (L = 6, two β, short training and sampling)."""
    training = {**DEFAULT_TRAINING, "epochs": 2, "batch_size": 50}
    values = dict(L=6, betas=(0.35, 0.5), n_data=200, hidden=8, training=training, quadratic_rank=4, chains=8,
                  burn=5, sweeps=40, measure_every=2)
    values.update(overrides)
    return Fig7Plan(**values)


__all__ = ["VARIANTS", "FIGURE_BETAS", "OBSERVABLES", "DEFAULT_TRAINING", "Fig7Plan", "Fig7Task", "model_name",
           "recipe_matches", "train_or_reuse", "run_task", "write_rows", "read_rows", "run_fig7", "tiny_plan"]
