"""The Fig. 7 machinery (``rbm_explorer.reports.fig7``) on a tiny grid: training, reuse, sampling, the CSV, the
figure, the command line, and the same numbers on a Dask cluster as in this process."""

import math

import numpy as np
import pytest

from rbm_explorer.io import load_model
from rbm_explorer.reports.fig7 import (
    COLUMNS,
    OBSERVABLES,
    VARIANTS,
    Fig7Plan,
    model_name,
    read_rows,
    recipe_matches,
    run_fig7,
    tiny_plan,
)

NUMBERS = [c for c in COLUMNS if c not in ("variant", "reused", "notes", "train_seconds", "sample_seconds")]


@pytest.fixture(scope="module")
def tiny_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig7")
    result = run_fig7(tiny_plan(), out, scheduler="inprocess", progress=False)
    return out, result


def test_tiny_grid_writes_every_point_the_csv_and_the_figure(tiny_grid):
    out, result = tiny_grid
    plan = tiny_plan()
    assert len(result.rows) == len(plan.betas) * len(VARIANTS)
    rows = read_rows(out / "fig7.csv")
    assert [(r["beta"], r["variant"]) for r in rows] == [(b, v) for b in plan.betas for v in VARIANTS]
    for row in rows:
        assert (out / model_name(plan.L, row["beta"], row["variant"])).is_file()
        for q in OBSERVABLES:
            assert math.isfinite(row[q]) and row[f"{q}_err"] >= 0
            assert math.isfinite(row[f"mc_{q}"]) and row[f"mc_{q}_err"] >= 0
        assert 0 <= row["abs_magnetization"] <= 1 and row["heat_capacity"] >= 0
        assert row["w_star_heuristic"] == pytest.approx(4 * row["beta"] * row["mc_abs_magnetization"])
        assert math.isfinite(row["w_star"]) == (row["variant"] == "linear_released1")
    png = (out / "fig7.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_a_second_run_reuses_the_models_and_gives_the_same_numbers(tiny_grid, tmp_path):
    out, first = tiny_grid
    again = run_fig7(tiny_plan(), out, scheduler="inprocess", progress=False, figure=False)
    assert all(r["reused"] for r in again.rows)
    assert all(r["train_seconds"] == 0 for r in again.rows)
    for a, b in zip(first.rows, again.rows):
        for c in NUMBERS:
            assert a[c] == b[c] or (math.isnan(a[c]) and math.isnan(b[c])), c


def test_a_model_of_another_recipe_is_retrained_not_reused(tiny_grid):
    out, _ = tiny_grid
    plan = tiny_plan()
    task = plan.tasks(out)[0]
    saved = load_model(task.model_path)
    assert recipe_matches(saved, task.recipe())
    other = tiny_plan(training={**plan.training, "learning_rate": 0.01})
    assert not recipe_matches(saved, other.tasks(out)[0].recipe())
    assert not recipe_matches(saved, tiny_plan(hidden=plan.hidden + 1).tasks(out)[0].recipe())


def test_the_constraints_of_each_variant_are_in_its_file(tiny_grid):
    out, _ = tiny_grid
    plan = tiny_plan()
    beta = plan.betas[0]
    for variant, (kind, released) in {"none": (None, 0), "linear_all": ("linear", 0),
                                       "quadratic_all": ("quadratic", 0), "linear_released1": ("linear", 1)}.items():
        model = load_model(out / model_name(plan.L, beta, variant))
        assert model.metadata["constraint"]["kind"] == (kind or "none")
        assert len(model.metadata["released_units"]) == released
        w = model.rbm.weight_matrix
        constrained = [mu for mu in range(w.shape[1]) if mu not in model.metadata["released_units"]]
        if kind is not None:  # Eq. 6: every constrained unit is orthogonal to q(1), which is ~uniform for Ising
            q = model.extra_arrays["constraint_0_forbidden"].reshape(-1, w.shape[0])
            np.testing.assert_allclose(q @ w[:, constrained], 0, atol=1e-5 * np.abs(w).max())
            cosine = q.sum() / (np.linalg.norm(q) * np.sqrt(q.size))
            assert cosine > 0.9  # so that the sum of each constrained unit's weights is ~0 (Sec. V)
        if variant == "quadratic_all":  # Q(2) of Eq. 18, kept as its top components, not as a dense N x N
            stored = [k for k in model.extra_arrays if k.startswith("constraint_") and k.endswith("_factors")]
            assert stored and model.extra_arrays[stored[0]].shape == (plan.quadratic_rank, plan.L ** 2 + 1)
            assert model.metadata["constraint"]["statistic"] == "abs_sum"


def test_the_grid_gives_the_same_numbers_on_a_dask_cluster(tiny_grid, tmp_path):
    _, here = tiny_grid
    plan = tiny_plan(variants=("none", "linear_released1"))
    cluster = run_fig7(plan, tmp_path, workers=2, progress=False, figure=False)
    assert cluster.scheduler.startswith("LocalCluster, 2 worker")
    mine = {(r["beta"], r["variant"]): r for r in here.rows}
    for row in cluster.rows:
        for c in NUMBERS:
            a, b = row[c], mine[(row["beta"], row["variant"])][c]
            assert a == b or (math.isnan(a) and math.isnan(b)), c


def test_the_command_line_makes_the_tiny_figure(tmp_path, capsys):
    from rbm_explorer.cli.main import main

    out = tmp_path / "report"
    assert main(["report", "fig7", "--tiny", "--inprocess", "--quiet", "--variants", "none", "linear_all",
                 "--out", str(out)]) == 0
    assert (out / "fig7.png").is_file() and len(read_rows(out / "fig7.csv")) == 4
    assert "wrote" in capsys.readouterr().err
    assert main(["report", "fig7", "--tiny", "--inprocess", "--quiet", "--out", str(out / "fig7.csv")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_bad_plans_and_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown Fig. 7 variant 'sideways'"):
        Fig7Plan(variants=("none", "sideways"))
    with pytest.raises(ValueError, match="betas must be positive"):
        Fig7Plan(betas=(0.4, -1))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a Fig. 7 CSV"):
        read_rows(bad)
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a Fig. 7 CSV"):
        read_rows(bad)
