"""Spins that morph (Fig. 7 of Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, on the Morph page): the Ising
families of the bundled models, keyed by (L, β); the β selector; the spin judge; Flip of the released unit
reverses the sign of the magnetization; the linear-all variant samples |m| near 0."""

from pathlib import Path

import numpy as np
import pytest
from browser_support import chromium_page, served_app, tiles_from_png, wait_until

from rbm_explorer.analysis.judge import MagnetizationJudge, class_judge
from rbm_explorer.app.morph_state import MorphSession
from rbm_explorer.catalog import families, ising_family_title

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FAMILY = ising_family_title(16, 0.44)
BETAS = [0.35, 0.40, 0.44, 0.46, 0.50]


def magnetizations(state) -> np.ndarray:
    return state.worker.snapshot().v.mean(axis=1)


def test_the_ising_families_are_keyed_by_size_and_beta():
    catalog = families()
    titles = [ising_family_title(16, b) for b in BETAS]
    assert all(t in catalog for t in titles), sorted(catalog)
    assert set(catalog[FAMILY]) == {"unconstrained", "linear, all units", "quadratic, all units", "linear, 1 released"}
    for t in titles:
        assert "linear, 1 released" in catalog[t]
    assert isinstance(class_judge(catalog[FAMILY]["unconstrained"].metadata["dataset"]), MagnetizationJudge)


def test_clamping_and_flipping_h_star_sets_the_sign_of_m_and_beta_picks_the_family():
    state = MorphSession(n_chains=32, seed=0, family=FAMILY, variant="linear, 1 released")
    try:
        assert state.ising_beta == 0.44 and state.param.ising_beta.objects == BETAS
        state.steps_per_frame = 20
        wait_until(lambda: (state.poll(), state.steps)[1] > 200, 120, what="200 sweeps")
        start = state.start_from
        sign = 1 if start == "m > 0" else -1
        assert np.mean(np.sign(magnetizations(state)) == sign) > 0.9
        state.flip(0)
        wait_until(lambda: (state.poll(), np.mean(np.sign(magnetizations(state)) == -sign))[1] > 0.9, 180,
                   what="the flip to reverse m in 90 % of the chains")
        state.ising_beta = 0.50
        assert state.family == ising_family_title(16, 0.50) and state.variant == "linear, 1 released"
        state.ising_beta = 0.44
        state.variant = "linear, all units"
        wait_until(lambda: (state.poll(), state.steps)[1] > 1500, 240, what="1500 sweeps of the linear-all model")
        assert np.mean(np.abs(magnetizations(state))) < 0.25
        assert state.class_shares.get("unclear", 0) > 0.4
        state.family = next(f for f in state.catalog if f.startswith("MNIST 0/1"))
        assert state.ising_beta is None and [b for b in state.param.ising_beta.objects if b is not None] == []
        assert state.error == ""
    finally:
        state.close()


def grid_magnetizations(page) -> np.ndarray:
    def frame():
        tiles = tiles_from_png(page.locator(".morph-grid canvas").first.screenshot(), tile_shape=(16, 16))
        return None if tiles is None else [tiles]

    tiles = wait_until(frame, 30, what="a complete frame of the grid")[0]
    return (2 * (tiles > 0.5) - 1).mean(axis=1)


@pytest.mark.browser
def test_flip_on_the_ising_released_family_reverses_the_sign_of_m_in_the_browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page(viewport=(1400, 1000)) as page:
        page.goto(url)
        page.locator(".morph-grid canvas").first.wait_for(timeout=90_000)
        page.locator(".morph-family select").select_option(label=FAMILY)
        page.locator(".morph-ising-beta select").wait_for(timeout=60_000)
        wait_until(lambda: page.locator(".variant-toggle .bk-active").all_inner_texts() == ["linear, 1 released"],
                   60, what="the released variant")

        def magnetized():  # the chains start from test configurations of the first class, with h* set for it
            m = grid_magnetizations(page)
            for sign in (1, -1):
                if np.mean(sign * m > 0.2) > 0.8:
                    return sign
            return None

        sign = wait_until(magnetized, 120, interval=0.5, what="chains magnetized one way")
        page.screenshot(path=str(ARTIFACTS / "morph_ising_before_flip.png"))
        page.get_by_role("button", name="Flip unit 0").click()
        page.mouse.move(5, 700)
        seen = []

        def reversed_():
            m = grid_magnetizations(page)
            seen.append(m)
            if len(seen) == 2:  # chains caught on the way, with domain walls
                page.screenshot(path=str(ARTIFACTS / "morph_ising_during_flip.png"))
            return np.mean(-sign * m > 0.2) > 0.8

        wait_until(reversed_, 180, interval=0.3, what="Flip to reverse the sign of m")
        page.screenshot(path=str(ARTIFACTS / "morph_ising_after_flip.png"))
        options = page.locator(".morph-ising-beta select option").all_inner_texts()
        page.locator(".morph-ising-beta select").select_option(label=options[-1])
        shown = ".morph-family select"
        wait_until(lambda: page.locator(shown).evaluate("el => el.options[el.selectedIndex].text").endswith("β = 0.50"),
                   60, what=f"the beta selector ({options}) to switch the family")
        page.get_by_role("button", name="Flip unit 0").wait_for(timeout=60_000)
        assert page.foreign_requests == [], page.foreign_requests
        assert page.page_errors == [], page.page_errors
