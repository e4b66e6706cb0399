"""The Spectrum and Landscape pages (Toledo-Marin, Maiti, Fox and Melko 2025, Figs. 2, 3, 6-8): their states
without a browser (every unit kind, including hand-made Potts and Gaussian models in a temporary models folder),
and the served pages in headless Chromium: no script error, no request to another host, plots that follow the
model, the snapshot, the epoch, the fields and the modes, every option switched to every other and back, and two
users whose chains are their own. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import DEEP_TEXT, chromium_contexts, chromium_page, served_app, wait_until, watched_page
from conftest import tiny_rbm

from rbm_explorer.io import save_model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A models folder of the machine's user with a Potts and a Gaussian model (no bundled model has either)."""
    folder = tmp_path / "home" / "models"
    folder.mkdir(parents=True)
    save_model(folder / "tiny_potts.npz", tiny_rbm("potts", "binary", seed=1, n_visible=5, n_hidden=4),
               {"description": "tiny Potts model"})
    save_model(folder / "tiny_gaussian.npz", tiny_rbm("gaussian", "binary", seed=2, n_visible=6, n_hidden=3),
               {"description": "tiny Gaussian model"})
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def path_of(state, stem: str) -> str:
    return next(path for path in state.param.model.objects.values() if Path(path).stem == stem)


def polled(state, condition, timeout=120, what="the condition"):
    return wait_until(lambda: (state.poll(), condition())[1], timeout, interval=0.05, what=what)


# --- the states ---------------------------------------------------------------------------------------------------
def test_the_spectrum_follows_the_history_and_the_top_values_leave_the_bulk():
    from rbm_explorer.app.spectrum_state import SpectrumState

    s = SpectrumState()
    try:
        assert Path(s.model).stem == "mnist01_none" and s.error == ""
        assert len(s.epochs) > 2 and s.epoch == s.epochs[-1]
        last = (s.n_above, s.counts.copy())
        assert s.counts.sum() == s.n_values == 400 and abs(s.expected.sum() - 400) < 1e-6
        s.epoch_index = 0
        assert s.epoch == s.epochs[0] and s.counts.sum() == 400
        assert s.n_above <= 2 < last[0]  # at the Gaussian initialisation (nearly) every value is in the bulk
        assert not np.array_equal(s.counts, last[1])
        assert len(s.outliers) == s.n_above and np.all(s.outliers > s.mp_bulk[1])
        assert s.history["top"].shape == (len(s.epochs), 10)
    finally:
        s.close()


def test_the_rotation_runs_on_the_pool_and_each_kind_changes_the_pictures():
    from rbm_explorer.app.spectrum_state import SpectrumState

    s = SpectrumState()
    try:
        polled(s, lambda: s.after_png and not s.rotation_busy, what="the first rotation")
        first = (s.before_png, s.after_png)
        assert first[0].startswith(b"\x89PNG") and first[0] != first[1] and "test images" in s.rotation_note
        s.rotation_kind = "orthogonal"
        polled(s, lambda: not s.rotation_busy and s.after_png != first[1], what="the orthogonal rotation")
        assert s.before_png == first[0]  # the same hidden states and random numbers before the rotation
        assert "orthogonal" in s.rotation_note
        s.rotation_angle = 0.0
        polled(s, lambda: not s.rotation_busy and "by 0°" in s.rotation_note, what="no rotation")
        assert s.after_png == s.before_png
        s.rotation_kind, s.rotation_k = "top", 1
        assert "k ≥ 2" in s.error and not s.rotation_busy
    finally:
        s.close()


def test_every_kind_has_a_spectrum_and_potts_weights_are_said_to_be_reshaped(home):
    from rbm_explorer.app.spectrum_state import SpectrumState

    s = SpectrumState()
    try:
        for stem in ("tiny_potts", "tiny_gaussian", "ising32_single_hidden", "ising16_beta0.44_none"):
            s.model = path_of(s, stem)
            polled(s, lambda: not s.rotation_busy, what=f"the rotation of {stem}")
            assert s.error == "" and s.counts.sum() == s.n_values, (stem, s.error)
            if stem == "ising32_single_hidden":  # W is 1024 x 1: one mode spans no plane, and says so
                assert "single mode" in s.rotation_note and s.before_png == b""
                s.rotation_kind = "orthogonal"
                polled(s, lambda: not s.rotation_busy, what="the orthogonal rotation of one mode")
                s.rotation_kind = "top"
            assert s.before_png.startswith(b"\x89PNG") or stem == "ising32_single_hidden", (stem, s.rotation_note)
        s.model = path_of(s, "tiny_potts")
        assert "(N·q) × M" in s.shape_note and s.epochs == [-1]
    finally:
        s.close()


def test_the_landscape_state_draws_modes_runs_chains_and_moves_the_saddle_with_the_fields():
    from rbm_explorer.app.landscape_state import LandscapeState

    s = LandscapeState()
    try:
        polled(s, lambda: s.class_names and s.chain_points, what="test data and chains")
        assert [s.view_a["trained"]["mode"], s.view_d["trained"]["mode"]] == [1, 400]
        view = s.view_a["trained"]
        assert len(view["data_x"]) == 400 and view["lines"] and view["saddle_on_plot"]
        first = s.chain_points[0][0].copy()
        polled(s, lambda: not np.array_equal(s.chain_points[0][0], first), what="the chains to move")
        saddles = {}
        for fields in ("zero", "data", "model"):
            s.fields = fields
            saddles[fields] = s.view_a["trained"]["saddle"]
            assert s.field_note.startswith("On screen: E_k with") and s.error == ""
        assert saddles["zero"] == (0.0, 0.0) or np.allclose(saddles["zero"], 0)
        assert abs(saddles["data"][1]) > 1 and abs(saddles["data"][0]) < 1e-9
        s.snapshot = 5  # a snapshot with its top modes only: no chains, modes 1..10
        assert "kept only its top" in s.chain_note and s.chain_points == []
        assert s.param.mode_d.objects == list(range(1, 11)) and s.view_d["trained"]["mode"] == 10
        curves = s.free_energy["curves"]
        assert [c["epoch"] for c in curves] == [0, 1, 2, 5, 10, 20, 50, 100, 200] and s.free_energy["selected"] == 5
        s.snapshot = 0
        polled(s, lambda: s.chain_points, what="chains of the first snapshot")
        s.mode_b = 7
        assert s.view_b["trained"]["mode"] == 7 and s.view_b["random"]["mode"] == 7
    finally:
        s.close()


def test_gaussian_models_get_a_message_and_potts_models_a_landscape(home):
    from rbm_explorer.app.landscape_state import LandscapeState

    s = LandscapeState()
    try:
        s.model = path_of(s, "tiny_gaussian")
        assert "gaussian" in s.problem and "quadratic" in s.problem and s.error == ""
        assert s.chain_points == [] and s.view_a["trained"]["lines"] == []
        s.model = path_of(s, "tiny_potts")
        assert s.problem == "" and "(N·q) × M" in s.shape_note
        polled(s, lambda: s.chain_points and "no test data" in s.data_note, what="the Potts chains")
        assert s.view_a["trained"]["xs"][-1] > s.view_a["trained"]["xs"][0]
        s.fields = "data"  # no dataset: refused by name, back to the model's fields
        assert "data-frequency fields need" in s.error and s.fields == "model"
    finally:
        s.close()


def test_two_landscape_states_run_chains_of_their_own():
    from rbm_explorer.app.landscape_state import LandscapeState

    first, second = LandscapeState(seed=1), LandscapeState(seed=2)
    try:
        for s in (first, second):
            polled(s, lambda s=s: s.chain_points, what="chains")
        first.running = False
        time.sleep(0.5)
        first.poll()
        stopped = first.status
        start = second.status
        polled(second, lambda: second.status != start, what="the second user's chains going on")
        first.poll()
        assert first.status == stopped or "paused" in first.status
    finally:
        first.close()
        second.close()


# --- the served pages -----------------------------------------------------------------------------------------------
BOKEH_TITLES = """() => {
  const out = [];
  for (const doc of window.Bokeh.documents)
    for (const m of doc.all_models) if (m.type === "Title" && m.text) out.push(m.text);
  return out;
}"""


def column_sums(name: str) -> str:
    """JavaScript: (count, weighted sum) of column ``name`` of every Bokeh data source that has it, in document
    order."""
    return """() => {
  const out = [];
  for (const doc of window.Bokeh.documents) for (const m of doc.all_models) {
    const data = m.data;
    if (!data || typeof data !== "object") continue;
    const column = data instanceof Map ? data.get("%s") : data["%s"];
    if (column === undefined) continue;
    let total = 0, n = 0;  // the values weighted by their place: a fingerprint that moves with any of them
    for (const v of column) {
      const a = v.length !== undefined ? v : [v];
      for (const x of a) if (Number.isFinite(x)) { n += 1; total += x * (1 + (n %% 97)); }
    }
    out.push([n, Math.round(total * 1e4) / 1e4]);
  }
  return out;
}""" % (name, name)


def titles(page) -> str:
    return " | ".join(page.evaluate(BOKEH_TITLES))


def text_of(page, css: str) -> str:
    locator = page.locator(css)
    return " ".join(locator.nth(k).evaluate(DEEP_TEXT) for k in range(locator.count()))


def select_containing(select, text: str) -> None:
    """Choose the option of a select whose label contains ``text``."""
    labels = select.locator("option").all_inner_texts()
    select.select_option(label=next(label for label in labels if text in label))


def check_clean(page):
    assert page.foreign_requests == [], page.foreign_requests
    assert page.page_errors == [], page.page_errors


@pytest.mark.browser
def test_the_served_spectrum_page_scrubs_plays_switches_models_and_rotates():
    ARTIFACTS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page(viewport=(1500, 1300)) as page:
        page.goto(url + "/explorer?page=spectrum")
        wait_until(lambda: re.search(r"epoch 200: \d+ of 400 above", titles(page)), 180,
                   what="the spectrum of MNIST 0/1")
        wait_until(lambda: page.locator(".rotation-after img").count() == 1, 120, what="the rotation pictures")
        shoot(page, "spectrum_page.png")
        counts = page.evaluate(column_sums("top"))
        player = page.locator(".spectrum-player")
        player.locator("button.first").click()
        wait_until(lambda: "epoch 0:" in titles(page), 60, what="the first epoch")
        assert page.evaluate(column_sums("top")) != counts
        player.locator("button.play").click()  # playing: the epochs go by, the top values leave the bulk
        wait_until(lambda: re.search(r"epoch ([1-9]\d*):", titles(page)), 60, what="the history playing")
        wait_until(lambda: int(re.search(r"epoch (\d+):", titles(page)).group(1)) >= 3, 90, what="epoch 3")
        player.locator("button.pause").click()
        shoot(page, "spectrum_page_playing.png")
        select = page.locator(".spectrum-model select")
        for label in ("Ising 16×16, β = 0.44 · unconstrained", "Faces: smiling (48x48) · linear, all units",
                      "MNIST 0/1 · unconstrained"):
            before = titles(page)
            select.select_option(label=label)
            wait_until(lambda: titles(page) != before and "above s₊" in titles(page), 90,
                       what=f"the spectrum of {label}")
        wait_until(lambda: page.locator(".rotation-after img").count() == 1
                   and "computing" not in text_of(page, ".rotation-busy"), 120, what="the rotation of MNIST")
        after = page.locator(".rotation-after img").get_attribute("src")
        kinds = page.locator(".rotation-kind")
        for kind in ("orthogonal to the top-k modes", "within the top-k modes"):
            kinds.get_by_role("button", name=kind, exact=True).click()
            wait_until(lambda: page.locator(".rotation-after img").get_attribute("src") != after, 120,
                       what=f"pictures rotated {kind}")
            after = page.locator(".rotation-after img").get_attribute("src")
        shoot(page, "spectrum_page_rotation.png")
        check_clean(page)


def chains_moving(page, timeout=90):
    start = page.evaluate(column_sums("chain_x"))
    wait_until(lambda: page.evaluate(column_sums("chain_x")) and
               page.evaluate(column_sums("chain_x")) != start, timeout, what="the chains moving on the plots")


def sweeps(page) -> int:
    match = re.search(r"sweep\s+([\d,]+)", text_of(page, ".landscape-status"))
    return int(match.group(1).replace(",", "")) if match else -1


def legend(page) -> str:
    return " ".join(text_of(page, ".landscape-legend").split()) + " "


def open_landscape(page, url):
    page.goto(url + "/explorer?page=landscape")
    wait_until(lambda: "trained · mode 400 " in titles(page) and "test data" in legend(page), 180,
               what="the landscapes of MNIST 0/1")
    wait_until(lambda: sweeps(page) > 10, 90, what="the chains running")
    chains_moving(page)


def shoot(page, name: str) -> None:
    page.mouse.move(5, 1000)  # no tooltip over the plots
    time.sleep(0.5)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.mark.browser
def test_the_served_landscape_page_switches_every_field_choice_to_every_other_and_the_modes():
    ARTIFACTS.mkdir(exist_ok=True)
    words = {"model": "the model's own fields", "zero": "zero fields", "data": "from the data frequencies"}
    with served_app() as url, chromium_page(viewport=(1500, 1500)) as page:
        open_landscape(page, url)
        shoot(page, "landscape_page.png")
        fields = page.locator(".landscape-fields")
        # model → zero → data → model → data → zero → model: every choice to every other one
        for choice in ("zero", "data", "model", "data", "zero", "model"):
            before = page.evaluate(column_sums("image"))
            fields.get_by_role("button", name=choice, exact=True).click()
            wait_until(lambda: words[choice] in legend(page), 30, what=f"{choice} fields on screen")
            wait_until(lambda: page.evaluate(column_sums("image")) != before, 30, what=f"the surfaces, {choice} fields")
            if choice == "data":
                shoot(page, "landscape_data_fields.png")
        for mode, back in (("5", "1"),):
            page.locator(".landscape-mode-a select").select_option(mode)
            wait_until(lambda: f"trained · mode {mode} " in titles(page)
                       and f"random RBM · mode {mode} " in titles(page), 30, what=f"mode {mode} in the first row")
            page.locator(".landscape-mode-a select").select_option(back)
            wait_until(lambda: f"trained · mode {back} " in titles(page), 30, what=f"mode {back} again")
        chains_moving(page)
        check_clean(page)


@pytest.mark.browser
def test_the_served_landscape_page_follows_the_snapshots_and_the_models():
    ARTIFACTS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page(viewport=(1500, 1500)) as page:
        open_landscape(page, url)
        snapshot = page.locator(".landscape-snapshot select")
        # the model → 5 (top modes only) → 0 → the model → 0 → 5 → the model: each kind to each other and back
        for label in ("epoch 5 (top modes)", "epoch 0", "epoch 200 (the model)", "epoch 0", "epoch 5 (top modes)",
                      "epoch 200 (the model)"):
            before = page.evaluate(column_sums("image"))
            snapshot.select_option(label=label)
            wait_until(lambda: page.evaluate(column_sums("image")) != before, 60, what=f"the landscapes of {label}")
            has_chains = "top modes" not in label
            wait_until(lambda: ("kept only its top" in text_of(page, ".landscape-notes")) != has_chains, 30,
                       what=f"the chains note of {label}")
            if has_chains:
                chains_moving(page)
            else:
                wait_until(lambda: "trained · mode 10 " in titles(page), 30, what="the last mode it kept")
                shoot(page, "landscape_top_modes_snapshot.png")
        select = page.locator(".landscape-model select")
        for label, mode, first_class in (("Ising 16×16, β = 0.44 · unconstrained", "256", "m < 0"),
                                         ("MNIST 0/1 · unconstrained", "400", "0")):
            select.select_option(label=label)
            wait_until(lambda: f"trained · mode {mode} " in titles(page) and f"● {first_class} " in legend(page),
                       120, what=f"the landscapes of {label}")
            chains_moving(page)
            if "Ising" in label:
                shoot(page, "landscape_ising.png")
        check_clean(page)


@pytest.mark.browser
def test_two_users_on_the_landscape_page_have_chains_of_their_own():
    with served_app() as url, chromium_contexts(2, viewport=(1500, 1200)) as contexts:
        pages = [watched_page(context) for context in contexts]
        for page in pages:
            page.goto(url + "/explorer?page=landscape")
        for page in pages:
            wait_until(lambda page=page: sweeps(page) > 10, 180, what="both users' chains")
        first, second = pages
        first.locator(".landscape-snapshot select").select_option(label="epoch 5 (top modes)")
        wait_until(lambda: "kept only its top" in text_of(first, ".landscape-notes"), 60, what="no chains for user 1")
        at = sweeps(second)
        wait_until(lambda: sweeps(second) > at + 10, 60, what="the second user's chains going on")
        assert "kept only its top" not in text_of(second, ".landscape-notes")
        second.locator(".landscape-fields").get_by_role("button", name="zero", exact=True).click()
        wait_until(lambda: "zero fields" in legend(second), 30, what="zero fields for user 2")
        assert "the model's own fields" in legend(first)
        first.locator(".landscape-snapshot select").select_option(label="epoch 200 (the model)")
        wait_until(lambda: sweeps(first) > 10, 60, what="the first user's chains again")
        chains_moving(first)
        for page in pages:
            check_clean(page)


@pytest.mark.browser
def test_a_gaussian_model_gets_a_message_on_the_landscape_page_and_a_spectrum(home):
    with served_app(env={"RBM_EXPLORER_HOME": str(home)}) as url, chromium_page(viewport=(1500, 1200)) as page:
        page.goto(url + "/explorer?page=landscape")
        wait_until(lambda: sweeps(page) > 5, 180, what="the landscape page")
        select_containing(page.locator(".landscape-model select"), "tiny_gaussian")
        wait_until(lambda: "quadratic term" in text_of(page, ".landscape-problem"), 60, what="the Gaussian message")
        page.screenshot(path=str(ARTIFACTS / "landscape_gaussian.png"), full_page=True)
        select_containing(page.locator(".landscape-model select"), "tiny_potts")
        wait_until(lambda: "(N·q) × M" in text_of(page, ".landscape-notes") and sweeps(page) > 5, 60,
                   what="the Potts landscape")
        assert not page.locator(".landscape-problem").is_visible()
        wait_until(lambda: "trained · mode 4 " in titles(page), 30, what="the Potts model's last mode")
        chains_moving(page)  # the plots, hidden for the Gaussian model, are back with their chains
        shoot(page, "landscape_potts.png")
        page.get_by_role("button", name="Spectrum", exact=True).click()
        page.locator(".spectrum-model select").wait_for(timeout=60_000)
        select_containing(page.locator(".spectrum-model select"), "tiny_gaussian")
        wait_until(lambda: "the model (no training history)" in titles(page), 60, what="the Gaussian spectrum")
        check_clean(page)
