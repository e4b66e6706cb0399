"""The Train page: the state object driven without a browser (real data, real training threads, no mocks),
then the served page in headless Chromium.

Runs are tiny (MNIST 0/1 with 16 hidden units, one Gibbs step, 2-3 epochs of 17 updates) and every wait polls a
condition with a generous timeout, so a loaded machine makes the tests slower, never wrong.
"""

import threading
from pathlib import Path

import numpy as np
import pytest
from browser_support import chromium_page, served_app, wait_until

from rbm_explorer.app.budget import Budget
from rbm_explorer.app.pages import ExplorerSession
from rbm_explorer.app.train_settings import recipe_from_settings, settings_problems
from rbm_explorer.app.train_state import THREAD_PREFIX, TrainSession
from rbm_explorer.catalog import catalog, checkpoints_dir, user_models_dir
from rbm_explorer.catalog import read_run_checkpoint as read_checkpoint
from rbm_explorer.io import load_model
from rbm_explorer.training.loop import Trainer, initialize_rbm
from rbm_explorer.training.recipes import prepare_recipe
from rbm_explorer.live import shared_pool

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TINY = dict(dataset="mnist", digits="0,1", hidden=16, epochs=2, batch_size=100, chains=64, gibbs_steps=1,
            learning_rate=0.02, constraint="linear", released=1)
METADATA_KEYS = {"released_units", "released_classes", "constraint", "dataset", "binarize_threshold", "history",
                 "provenance"}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Models and checkpoints go to a fresh RBM_EXPLORER_HOME."""
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def trainer_threads():
    """The live training runs: tasks of the shared pool (and any thread of a runner started on its own)."""
    return ([t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]
            + [n for n in shared_pool().runner_names() if n.startswith(THREAD_PREFIX)])


def session(budget=None, **settings) -> TrainSession:
    state = TrainSession(budget=budget or Budget(limit=2))
    state.param.update(**{**TINY, **settings})
    return state


def wait_for(state, condition, timeout=300.0, what="condition"):
    """Poll the state (as the page's frame callback does) until ``condition(state)`` holds."""
    return wait_until(lambda: (state.poll(), condition(state))[1], timeout, interval=0.05, what=what)


def run_to_end(state, timeout=300.0):
    wait_for(state, lambda s: not s.running, timeout, what="the run to end")
    assert state.phase == "done", (state.phase, state.error)


# --- the state object --------------------------------------------------------------------------------------------
def test_a_run_advances_the_progress_and_publishes_samples_and_residuals():
    budget = Budget(limit=1)
    state = session(budget, max_updates_per_second=40)  # slow enough to see progress in between
    try:
        assert state.start(), state.error
        assert state.running and budget.in_use == 1 and len(trainer_threads()) == 1
        wait_for(state, lambda s: 0 < s.updates_done < s.total_updates, what="progress in the middle of the run")
        seen = state.updates_done
        wait_for(state, lambda s: s.updates_done > seen, what="the progress to advance")
        assert state.total_updates == 2 * (1703 // 100) and state.phase == "training"
        assert state.mosaic.shape == (8 * 29 - 1, 8 * 29 - 1)  # the 64 persistent chains, 28x28 each
        assert np.nanmin(state.mosaic) >= 0 and np.nanmax(state.mosaic) <= 1
        state.max_updates_per_second = 0  # full speed for the rest
        run_to_end(state)
    finally:
        state.close()
    assert state.updates_done == state.total_updates == 34 and state.epoch == 2
    assert list(state.reconstruction["epoch"]) == [1, 2] and np.all(state.reconstruction["error"] > 0)
    residual = state.residuals
    assert len(residual["update"]) >= 2 and np.all(np.diff(residual["update"]) > 0)
    assert residual["update"][-1] == 34
    assert np.max(residual["linear"]) < 1e-5, residual["linear"]  # the projection holds (Eqs. 6-7)
    assert np.all(np.isnan(residual["quadratic"]))
    assert "Eqs. 6–7" in state.residual_note and "Finished 2 epochs" in state.status and state.error == ""
    assert budget.in_use == 0 and trainer_threads() == []


def test_quadratic_runs_report_the_relative_quadratic_residual():
    state = session(constraint="quadratic", epochs=1)
    try:
        assert state.start(), state.error
        run_to_end(state)
    finally:
        state.close()
    residual = state.residuals
    assert np.max(residual["linear"]) < 1e-5  # [D] the first-order projection applies to the same units
    assert np.all(np.isfinite(residual["quadratic"])) and 0 < residual["quadratic"][-1] < 1
    assert "Eqs. 8–10" in state.residual_note


def test_save_writes_a_loadable_model_into_the_user_models_folder(home):
    explorer = ExplorerSession()
    from rbm_explorer.app.train_page import build_train_page

    page = build_train_page(explorer)
    state = page.state
    state.param.update(**TINY, max_updates_per_second=30)
    try:
        assert state.save() is None and "Nothing to save" in state.error
        assert state.start(), state.error
        wait_for(state, lambda s: s.can_save and 3 <= s.updates_done < s.total_updates, what="a few updates")
        mid = state.save()  # while the thread trains: a copy taken at an update boundary
        assert mid is not None and state.error == "" and state.running, state.error
        assert "update" in state.status and load_model(mid).rbm.n_hidden == 16
        state.max_updates_per_second = 0
        run_to_end(state)
        state.model_name = "my mnist01 model"
        assert state.save() is None and "not a plain file name" in state.error
        state.model_name = "my-mnist01"
        path = state.save()
    finally:
        explorer.close()  # what the shell does when the tab closes: the state's close is registered
    assert path == user_models_dir() / "my-mnist01.npz" and path.parent == home / "models"
    assert explorer.opened_model == str(path) and state.saved_path == str(path)
    model = load_model(path)
    assert METADATA_KEYS <= set(model.metadata)
    meta = model.metadata
    assert meta["released_units"] == [0] and meta["released_classes"] in ([0], [1])
    assert meta["constraint"]["kind"] == "linear" and meta["constraint"]["units"] == list(range(1, 16))
    assert meta["dataset"]["name"] == "mnist" and meta["dataset"]["digits"] == "0,1"
    assert meta["binarize_threshold"] == 0.5 and [e["epoch"] for e in meta["history"]["epochs"]] == [1, 2]
    assert meta["metrics"]["constraint_violation"] < 1e-5 and meta["provenance"]["seed"] == 0
    entries = {e.name: e for e in catalog() if not e.bundled}
    assert entries["my-mnist01"].family_title == "MNIST 0/1" and entries["my-mnist01"].variant == "linear, 1 released"
    # a finished run that is saved leaves no checkpoint to resume
    assert not list(checkpoints_dir().glob("*.npz")) and TrainSession().resume_label == ""


def test_closing_mid_run_checkpoints_and_resuming_reaches_the_uninterrupted_weights(home):
    settings = dict(epochs=3, seed=3)
    reference = session(**settings)
    try:
        assert reference.start(), reference.error
        run_to_end(reference)
        expected = reference.trainer.rbm.weights.copy()
    finally:
        reference.close()
    # the page trains through the library: a freshly loaded recipe trains to the same weights
    prepared = prepare_recipe(recipe_from_settings(reference.settings()))
    recipe = prepared.recipe
    rbm = initialize_rbm(prepared.visible_kind, recipe.hidden_kind, prepared.data.shape[1], recipe.hidden,
                         prepared.features, recipe.config, visible_options=prepared.visible_options)
    for _ in Trainer(rbm, prepared.data, recipe.config, constraints=prepared.constraints).run():
        pass
    np.testing.assert_array_equal(rbm.weights, expected)
    for path in checkpoints_dir().glob("*.npz"):  # the finished reference run is not the one to resume
        path.unlink()

    budget = Budget(limit=1)
    interrupted = session(budget, max_updates_per_second=25, **settings)
    assert interrupted.start(), interrupted.error
    wait_for(interrupted, lambda s: s.updates_done >= 5, what="five updates")
    name = interrupted.run_name
    interrupted.close()  # the tab closes: stop at an update boundary, checkpoint, join
    assert trainer_threads() == [] and budget.in_use == 0
    checkpoint = checkpoints_dir() / f"{name}.npz"
    meta = read_checkpoint(checkpoint)
    epoch, update = meta["training"]["epoch"], meta["training"]["update"]
    assert 5 <= update < 51 and epoch == update // 17, (epoch, update)

    resumed = TrainSession(budget=budget)
    assert resumed.resume_label == f"Resume {name} (epoch {epoch} of 3)"
    try:
        assert resumed.resume(), resumed.error
        assert resumed.settings() == {**interrupted.settings()}  # the controls show the resumed run
        run_to_end(resumed)
        assert resumed.updates_done == 51 and list(resumed.reconstruction["epoch"]) == [1, 2, 3]
        np.testing.assert_array_equal(resumed.trainer.rbm.weights, expected)
    finally:
        resumed.close()
    assert trainer_threads() == [] and budget.in_use == 0


def test_stop_checkpoints_and_offers_to_resume():
    state = session(max_updates_per_second=25, epochs=3)
    try:
        assert state.start(), state.error
        wait_for(state, lambda s: s.updates_done >= 3, what="three updates")
        state.stop()
        assert not state.running and state.phase == "stopped" and trainer_threads() == []
        assert "checkpoint saved" in state.status and state.resume_label.startswith(f"Resume {state.run_name}")
        assert state.can_save  # a stopped run can still be saved
    finally:
        state.close()


def test_a_run_resumed_in_one_tab_is_not_offered_to_another(home):
    """Two tabs must never write one checkpoint: while tab A trains a resumed run, a new tab is not offered it,
    and a tab that showed the offer before A resumed gets a message instead of becoming a second writer (the
    claim itself: tests/test_training.py)."""
    budget = Budget(limit=2)
    first = session(budget, max_updates_per_second=25, epochs=3)
    assert first.start(), first.error
    wait_for(first, lambda s: s.updates_done >= 3, what="three updates")
    name = first.run_name
    first.close()
    late = TrainSession(budget=budget)  # opened while nobody trains: offered the run
    tab_a = TrainSession(budget=budget, max_updates_per_second=25)
    try:
        assert late.resume_label.startswith(f"Resume {name}")
        assert tab_a.resume(), tab_a.error
        wait_for(tab_a, lambda s: s.phase == "training", what="tab A training")
        assert TrainSession(budget=budget).resume_label == ""
        # tab B still shows the offer it got before tab A resumed; clicking it starts nothing
        assert not late.resume() and late.error == "There is no checkpoint to resume." and late.resume_label == ""
        assert tab_a.running and not late.running
    finally:
        tab_a.close()
        late.close()
    assert trainer_threads() == [] and budget.in_use == 0


def test_a_run_over_the_bound_waits_in_the_queue_and_starts_when_a_slot_is_free():
    """With --max-training-runs 1, a second session's run waits in the queue, says so, and starts by itself
    when the first run ends; Stop takes a queued run out of the queue."""
    budget = Budget(limit=1, what="training runs", env="RBM_EXPLORER_MAX_TRAINING_RUNS", default=1,
                    flag="--max-training-runs")
    first, second, third = session(budget, epochs=3), session(budget), session(budget)
    try:
        assert first.start(), first.error
        assert second.start(), second.error
        assert second.running and second.phase == "queued" and "--max-training-runs" in second.status
        assert "Waiting in the queue" in second.status and second.active
        assert len(trainer_threads()) == 1  # the queued run has no task on the pool yet
        assert third.start() and third.phase == "queued"
        third.stop()  # leaves the queue
        assert not third.running and not third.active and "never started" in third.status
        run_to_end(first)
        wait_for(second, lambda s: s.phase not in ("queued",), 60, what="the queued run to start")
        run_to_end(second)
        third.poll()
        assert third.phase == "idle" and budget.in_use == 0
    finally:
        for state in (first, second, third):
            state.close()
    assert trainer_threads() == [] and budget.in_use == 0


@pytest.mark.parametrize("settings, message", [
    (dict(epochs=0), "Epochs must be a whole number from 1 to 10,000"),
    (dict(hidden=0), "Hidden units must be a whole number from 1 to 4,096"),
    (dict(learning_rate=0.0), "learning rate must be a number above 0"),
    (dict(digits="0,x"), "cannot read the class subset '0,x'"),
    (dict(digits="0,12"), "not in 0..9"),
    (dict(digits="7"), "needs at least two digits"),
    (dict(hidden=4, released=5), "Too many released units: 5 released of 4"),
    (dict(digits="0-3", released=2), "Too many released units for 4 classes"),
    (dict(digits="0-3", constraint="quadratic", released=1), "Too many released units for 4 classes"),
    (dict(dataset="bars4", constraint="linear"), "single class"),
])
def test_bad_settings_give_a_message_and_start_nothing(settings, message):
    budget = Budget(limit=1)
    state = session(budget)
    for name, value in settings.items():  # one at a time, as a user does (the dataset sets its defaults)
        setattr(state, name, value)
    assert not state.start()
    assert message in state.error, state.error
    assert not state.running and budget.in_use == 0 and trainer_threads() == []
    state.close()


def test_problems_found_while_preparing_are_shown_not_raised():
    budget = Budget(limit=1)
    state = session(budget, dataset="bars4")
    assert state.batch_size == 10 and state.constraint == "none"  # the dataset's defaults
    state.batch_size = 100  # more than the 10 training samples: only the trainer finds out
    assert state.start()
    wait_for(state, lambda s: not s.running, what="the run to fail")
    assert state.phase == "failed" and "fewer than one batch of 100" in state.error
    assert budget.in_use == 0 and trainer_threads() == []
    assert not state.resume() and "no checkpoint" in state.error
    state.close()


def test_the_default_settings_are_valid():
    assert settings_problems(TrainSession().settings()) == []


# --- in the browser -------------------------------------------------------------------------------------------------
def status_text(page) -> str:
    """The progress line (Markdown content lives in a shadow root, which CSS descendant locators pierce)."""
    return page.locator(".train-status p").first.inner_text()


def overlap(a: dict, b: dict) -> bool:
    """Whether two Playwright bounding boxes intersect."""
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


TITLES_JS = """() => {
  const texts = [];
  for (const doc of window.Bokeh.documents)
    for (const model of doc.all_models)
      if (model.type === "Title" || (model.constructor && model.constructor.name === "Title")) texts.push(model.text);
  return texts.join(" | ");
}"""

SPECTRUM_COUNTS_JS = """() => {
  // the counts of the 'now' histogram: the only source with bin edges (top, left, right)
  let total = -1;
  for (const doc of window.Bokeh.documents)
    for (const model of doc.all_models) {
      const data = model.data;
      if (!data || typeof data !== "object") continue;
      const get = (key) => (data instanceof Map ? data.get(key) : data[key]);
      const counts = get("top"), left = get("left");
      if (counts !== undefined && left !== undefined) total = Array.from(counts).reduce((a, b) => a + b, 0);
    }
  return total;
}"""


@pytest.mark.browser
def test_served_train_page_trains_saves_and_stays_offline(home):
    ARTIFACTS.mkdir(exist_ok=True)
    with served_app() as url, chromium_page(viewport=(1400, 1100)) as page:
        page.goto(url + "/explorer?page=train")
        page.get_by_role("button", name="Start").wait_for(timeout=90_000)
        # the Start button's tooltip opens below it, and leaves the Stop button beside it free
        page.get_by_role("button", name="Start").hover()
        tooltip = page.locator(".bk-Tooltip").filter(has_text="Train a new model").first
        tooltip.wait_for(state="visible", timeout=10_000)
        assert not overlap(tooltip.bounding_box(), page.get_by_role("button", name="Stop").bounding_box())
        page.mouse.move(5, 5)
        for label, value in (("Hidden units", "32"), ("Epochs", "2")):
            box = page.get_by_label(label, exact=True)
            box.fill(value)
            box.press("Enter")
        page.get_by_role("button", name="Start").click()
        wait_until(lambda: "Training" in status_text(page) or "Done" in status_text(page), 120,
                   what="the run to start")
        wait_until(lambda: "Done" in status_text(page), 600, interval=0.5, what="the run to finish")
        assert "Epoch 2 of 2" in status_text(page) and "Update 170 of 170" in status_text(page)
        # the live spectrum: all 32 singular values of the 784 x 32 W binned, against Marchenko-Pastur
        wait_until(lambda: "above s₊" in page.evaluate(TITLES_JS), 60, what="the spectrum's title")
        assert page.evaluate(SPECTRUM_COUNTS_JS) == 32
        page.mouse.move(5, 5)  # no tooltip over the picture
        page.wait_for_timeout(1500)  # the last frame reaches the plots
        page.screenshot(path=str(ARTIFACTS / "train_page.png"))
        page.get_by_role("button", name="Save model").click()
        wait_until(lambda: list(home.glob("owners/*/models/*.npz")), 60, what="the saved model (the browser's own)")
        assert page.foreign_requests == [], f"requests to other hosts: {page.foreign_requests}"
        assert page.page_errors == [], page.page_errors

        # a long run, then the tab closes: the server ends the session and the run is checkpointed
        box = page.get_by_label("Epochs", exact=True)
        box.fill("100")
        box.press("Enter")
        page.get_by_role("button", name="Start", exact=True).click()
        wait_until(lambda: "Training" in status_text(page), 120, what="the second run to start")
        page.goto("about:blank")

        def checkpointed():
            found = [read_checkpoint(p) for p in home.glob("owners/*/checkpoints/*.npz")]
            return [m for m in found if m and m["train_page"]["recipe"]["config"]["epochs"] == 100]

        meta = wait_until(checkpointed, 120, interval=0.5, what="the closed session's checkpoint")[0]
        assert 0 < meta["training"]["update"] < meta["train_page"]["total_updates"]


def test_a_finished_unsaved_run_is_offered_for_saving_not_for_resuming(tmp_path):
    from rbm_explorer.catalog import ResumeOffer

    assert ResumeOffer(tmp_path / "a.npz", "a", 2, 5, 20, 50).label == "Resume a (epoch 2 of 5)"
    assert ResumeOffer(tmp_path / "b.npz", "b", 5, 5, 50, 50).label == "Reopen b (finished, 5 epochs) to save it"


def test_a_single_class_dataset_forces_no_constraint_only_while_it_is_chosen():
    state = TrainSession()
    state.constraint = "quadratic"
    state.dataset = "ww_domain"
    assert state.constraint == "none"
    state.dataset = "mnist"
    assert state.constraint == "quadratic"  # the user's choice comes back
    state.dataset = "bars4"
    state.dataset = "faces"
    assert state.constraint == "quadratic"
    state.constraint = "linear"
    state.dataset = "ww_domain"
    state.dataset = "digits8"
    assert state.constraint == "linear"


@pytest.mark.parametrize("key, value, words", [
    ("learning_rate", 1e6, "at most 1"),
    ("learning_rate", 0.0, "above 0"),
    ("hidden", 10**6, "from 1 to 4,096"),
    ("epochs", 0, "from 1 to 10,000"),
    ("gibbs_steps", 5000, "from 1 to 1,000"),
    ("chains", -3, "from 1 to 10,000"),
    ("quadratic_strength", 1e9, "from 0 to 10000"),
    ("seed", -1, "from 0 to"),
])
def test_every_setting_is_bounded_with_a_message(key, value, words):
    settings = {**TrainSession().settings(), **TINY, key: value}
    problems = " ".join(settings_problems(settings))
    assert words in problems, problems
    state = TrainSession()
    state.param.update(**{k: v for k, v in TINY.items()})
    setattr(state, key, value)
    assert state.start() is False and words in state.error
