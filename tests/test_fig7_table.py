"""The committed Fig. 7 table (docs/fig7/fig7.csv, from ``rbm-explorer report fig7``) against the bars of the
issue: Fig. 7 of Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023) reproduced, with σ the combined error bar
of the RBM samples and the Monte Carlo data.

A point that misses its bar is listed in ``MISSED`` and reported in docs/fig7/README.md with the figure; its
test is an expected failure that fails the suite if the point starts to pass (``strict``), so that the list
stays true. The bars themselves are not loosened."""

import math
from pathlib import Path

import pytest

from rbm_explorer.reports.fig7 import bundled_csv, read_rows

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "fig7" / "fig7.csv"
ROWS = read_rows(TABLE)
BETAS = sorted({r["beta"] for r in ROWS})

# points that miss their bar in the committed table (docs/fig7/README.md says by how much)
MISSED: set[str] = set()


def row(variant, beta):
    (found,) = [r for r in ROWS if r["variant"] == variant and r["beta"] == beta]
    return found


def sigma(r, q) -> float:
    return math.hypot(r[f"{q}_err"], r[f"mc_{q}_err"])


def check(test_id: str, ok: bool, message: str):
    if test_id in MISSED:
        pytest.xfail(f"{test_id} misses its bar in the committed table (docs/fig7/README.md): {message}")
    assert ok, message


def test_the_table_is_the_bundled_one_and_covers_the_grid():
    assert TABLE.read_bytes() == bundled_csv().read_bytes()
    assert BETAS == [0.35, 0.40, 0.44, 0.46, 0.50]
    assert {(r["variant"], r["beta"]) for r in ROWS} == {(v, b) for v in ("none", "linear_all", "quadratic_all",
                                                                          "linear_released1") for b in BETAS}
    for r in ROWS:  # the Monte Carlo columns agree with the exact finite-L energy and heat capacity
        assert abs(r["mc_energy"] - r["energy_exact"]) < 4 * r["mc_energy_err"] + 1e-3
        assert abs(r["mc_heat_capacity"] - r["heat_capacity_exact"]) < 4 * r["mc_heat_capacity_err"] + 0.02


@pytest.mark.parametrize("variant", ["none", "linear_released1"])
@pytest.mark.parametrize("quantity", ["abs_magnetization", "heat_capacity"])
@pytest.mark.parametrize("beta", [0.35, 0.40, 0.44, 0.46, 0.50])
def test_unconstrained_and_released_samples_match_the_monte_carlo(variant, quantity, beta):
    r = row(variant, beta)
    bar = 3 * sigma(r, quantity) + 0.05 * abs(r[f"mc_{quantity}"])
    off = abs(r[quantity] - r[f"mc_{quantity}"])
    check(f"{variant}-{quantity}-{beta:.2f}", off <= bar,
          f"{variant} {quantity} at beta={beta}: {r[quantity]:.4f} vs Monte Carlo {r[f'mc_{quantity}']:.4f}, "
          f"off by {off:.4f} > 3 sigma + 5 % = {bar:.4f}")


@pytest.mark.parametrize("beta", [0.35, 0.40, 0.44, 0.46, 0.50])
def test_linear_on_all_units_erases_the_magnetization(beta):
    r = row("linear_all", beta)
    if beta >= 0.44:
        check(f"linear_all-m-{beta:.2f}", r["abs_magnetization"] < 0.1,
              f"|m| = {r['abs_magnetization']:.4f} at beta={beta}, not < 0.1")
    else:
        bar = r["mc_abs_magnetization"] + 3 * sigma(r, "abs_magnetization")
        check(f"linear_all-m-{beta:.2f}", r["abs_magnetization"] <= bar,
              f"|m| = {r['abs_magnetization']:.4f} at beta={beta} above Monte Carlo + 3 sigma = {bar:.4f}")


def peak(variant) -> tuple[bool, str]:
    """Whether C(0.44) exceeds both C(0.35) and C(0.50) by 3 sigma of the differences."""
    mid, low, high = row(variant, 0.44), row(variant, 0.35), row(variant, 0.50)
    rises = mid["heat_capacity"] - low["heat_capacity"] > 3 * math.hypot(mid["heat_capacity_err"], low["heat_capacity_err"])
    falls = mid["heat_capacity"] - high["heat_capacity"] > 3 * math.hypot(mid["heat_capacity_err"], high["heat_capacity_err"])
    text = (f"C(0.35) = {low['heat_capacity']:.3f}, C(0.44) = {mid['heat_capacity']:.3f}, "
            f"C(0.50) = {high['heat_capacity']:.3f}")
    return rises and falls, text


def test_linear_on_all_units_keeps_a_heat_capacity_peak():
    has_peak, text = peak("linear_all")
    check("linear_all-peak", has_peak, f"no peak: {text}")


def test_quadratic_on_all_units_loses_the_peak():
    has_peak, text = peak("quadratic_all")
    check("quadratic_all-no-peak", not has_peak, f"a peak remains: {text}")


@pytest.mark.parametrize("beta", [0.46, 0.50])
def test_the_released_weight_follows_eq_24(beta):
    r = row("linear_released1", beta)
    heuristic = 4 * beta * r["mc_abs_magnetization"]
    check(f"w_star-{beta:.2f}", abs(r["w_star"] - heuristic) <= 0.25 * heuristic,
          f"w* = {r['w_star']:.4f} at beta={beta}, 4 beta |m*| = {heuristic:.4f}: off by more than 25 %")
