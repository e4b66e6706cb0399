"""The Models page: its state (loading, validation of uploads, summary tables, weight pictures) without a browser,
and the served page in headless Chromium (a corrupt upload shows an error and the page keeps working)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import DEEP_TEXT, chromium_page, served_app, wait_until
from conftest import tiny_rbm

from rbm_explorer.app.models_state import ModelsSession
from rbm_explorer.catalog import user_models_dir
from rbm_explorer.io import load_model
from rbm_explorer.io.model_file import save_model
from rbm_explorer.io.summary import format_value, markdown_table, md_cell, unit_ranges
from rbm_explorer.resources import bundled_model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
RELEASED1 = "mnist01_linear_released1"
RELEASED3 = "mnist0123_linear_released3"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own empty RBM_EXPLORER_HOME: uploads never reach the real user folder."""
    folder = tmp_path / "home"
    monkeypatch.setenv("RBM_EXPLORER_HOME", str(folder))
    return folder


@pytest.fixture
def session():
    return ModelsSession(initial=str(bundled_model(RELEASED1)))


def rows(state: ModelsSession, table: str) -> list[list[str]]:
    return state.summary[table]["rows"]


def key_values(state: ModelsSession, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in rows(state, table)}


def saved_models() -> list[Path]:
    folder = user_models_dir()
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


# --- loading and the summary --------------------------------------------------------------------------------
def test_bundled_model_summary_has_kinds_shapes_constraint_and_released_units(session):
    assert session.error == ""
    assert Path(session.model_path).name == f"{RELEASED1}.npz"
    assert session.title == "MNIST 0/1 · linear, 1 released"
    assert session.source == "bundled model"
    units = {row[0]: row for row in rows(session, "Units and shapes")}
    assert units["visible"][1:3] == ["binary, 28 × 28 image", "784"]
    assert units["hidden"][1:3] == ["binary", "400"]
    assert units["weights W"][2] == "784 × 400"
    constraint = key_values(session, "Constraint")
    assert constraint["kind"] == "linear"
    assert constraint["constrained units"] == "1–399 (399 of 400)"
    assert constraint["free units"] == "0"
    released = rows(session, "Released units")
    assert [row[:2] for row in released] == [["0", "class 0"]]
    assert float(released[0][4]) > 0.99  # the released unit predicts the label (metrics released_auc)
    assert key_values(session, "Dataset")["name"] == "mnist"
    assert key_values(session, "Provenance")["command"].endswith(RELEASED1)
    metrics = {row[0]: row for row in rows(session, "Metrics")}
    assert "released units' AUC" in metrics and metrics["test samples"][1] == "425"
    # the raw metadata is sent trimmed: the 399 constrained units become 24 and a note
    assert len(session.metadata["constraint"]["units"]) == 25
    assert session.opened_path == ""  # the page's first model is not an "open" by the user


def test_three_released_units_name_the_classes_they_generate():
    state = ModelsSession(initial=str(bundled_model(RELEASED3)))
    released = rows(state, "Released units")
    assert [row[:2] for row in released] == [["0", "class 1"], ["1", "class 2"], ["2", "class 3"]]
    groups = rows(state, "Constraint groups")
    assert [g[0] for g in groups] == ["released unit for class 1", "released unit for class 2",
                                      "released unit for class 3", "all class vectors"]
    assert groups[3][2] == "3–399"


def test_catalogue_lists_every_bundled_model_with_readable_labels(session):
    names = session.param.choice.names
    assert "MNIST 0/1 · linear, 1 released" in names
    assert "MNIST 0-3 · linear, 3 released" in names
    assert all(Path(path).is_file() for path in names.values())
    assert session.choice == session.model_path


def test_choosing_another_model_updates_everything_and_is_shared(session):
    other = str(bundled_model("faces_smiling_linear_released1"))
    session.choice = other
    assert session.model_path == other and session.error == ""
    assert session.title.startswith("Faces: smiling")
    assert rows(session, "Units and shapes")[0][1:3] == ["binary, 48 × 48 image", "2,304"]
    assert session.mosaic_info["units"][0] == 0
    assert session.opened_path == other


# --- the weight pictures ------------------------------------------------------------------------------------
def test_weight_mosaic_puts_the_released_unit_first(session):
    w = load_model(bundled_model(RELEASED1)).rbm.weight_matrix
    first = w[:, 0].reshape(28, 28)
    info = session.mosaic_info
    assert info["units"][0] == 0 and info["tiles"][0]["role"] == "released"
    norms = np.linalg.norm(w, axis=0)
    rest = info["units"][1:]
    assert len(info["units"]) == 48 and 0 not in rest
    assert np.all(np.diff(norms[rest]) <= 0)  # then by decreasing norm
    assert list(rest) == [int(u) for u in np.argsort(-norms[1:])[:47] + 1]
    mosaic = session.mosaic
    assert mosaic.shape == (6 * 29 - 1, 8 * 29 - 1)
    np.testing.assert_allclose(mosaic[:28, :28], first / np.abs(first).max(), rtol=1e-6)  # "per unit" scale
    assert np.isnan(mosaic[:, 28]).all() and np.isnan(mosaic[28, :]).all()  # gaps between pictures
    session.scale = "shared"
    np.testing.assert_allclose(session.mosaic[:28, :28], first, rtol=1e-6)
    assert session.mosaic_info["clim"] == pytest.approx(np.abs(w[:, info["units"]]).max())
    session.max_units = 5
    assert session.mosaic_info["units"] == info["units"][:5] and session.mosaic.shape == (28, 5 * 29 - 1)
    # the tile boxes are in plot coordinates (origin at the bottom left): the first picture is at the top left
    tile = session.mosaic_info["tiles"][0]
    assert (tile["x0"], tile["y1"]) == (0, session.mosaic.shape[0])


def test_several_released_units_come_first_in_metadata_order():
    state = ModelsSession(initial=str(bundled_model(RELEASED3)))
    assert state.mosaic_info["units"][:3] == [0, 1, 2]
    assert [t["role"] for t in state.mosaic_info["tiles"][:4]] == ["released"] * 3 + ["constrained or free"]


def test_a_model_without_pictures_says_why(tmp_path, session):
    path = save_model(tmp_path / "potts.npz", tiny_rbm("potts", "binary"), {"description": "a tiny Potts model"})
    assert session.upload(path.read_bytes(), "potts.npz"), session.error
    assert session.mosaic is None
    assert "image_shape" in session.mosaic_note
    assert rows(session, "Units and shapes")[0][1] == "potts, q = 3"
    assert session.description == "a tiny Potts model"
    assert rows(session, "Released units") == [] and "No released units" in session.summary["Released units"]["note"]


# --- uploads --------------------------------------------------------------------------------------------------
def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _nan_weight_model() -> bytes:
    model = load_model(bundled_model("ising32_single_hidden"))
    weights = model.rbm.weights.copy()
    weights[5, 0] = np.nan
    return _npz_bytes(weights=weights, visible_fields=model.rbm.visible.fields, hidden_fields=model.rbm.hidden.fields,
                      metadata=np.array(json.dumps(model.metadata)))


CORRUPT = {
    "not a zip": (lambda: b"not a zip", "not a readable .npz archive"),
    "truncated": (lambda: bundled_model(RELEASED3).read_bytes()[:100_000], "not a readable .npz archive"),
    "NaN weight": (_nan_weight_model, "array 'weights' contains NaN"),
    "no metadata": (lambda: _npz_bytes(weights=np.ones((4, 2))), "missing the required entry 'metadata'"),
    "object array": (lambda: _npz_bytes(weights=np.array([{"x": 1}], dtype=object), metadata=np.array("{}")),
                     "object arrays"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_upload_names_the_problem_and_keeps_the_model(session, case):
    make, problem = CORRUPT[case]
    before = (session.model_path, session.title, session.summary, session.mosaic.copy())
    assert session.upload(make(), f"broken {case}.npz") is False
    assert problem in session.error, session.error
    assert f"broken {case}.npz" in session.error
    assert "rbm_explorer_upload_" not in session.error  # the temporary file's path is not shown
    assert (session.model_path, session.title, session.summary) == before[:3]
    np.testing.assert_array_equal(session.mosaic, before[3])
    assert saved_models() == []  # nothing invalid is kept
    assert session.opened_path == ""


def test_upload_over_the_size_bound_is_refused_before_reading():
    state = ModelsSession(max_upload_bytes=10_000)
    data = bundled_model(RELEASED1).read_bytes()
    assert not state.upload(data, "big.npz")
    assert "over the limit of 10,000 bytes" in state.error
    assert not state.upload(b"", "empty.npz") and "empty" in state.error
    assert saved_models() == []
    # files the browser refused to send (over the websocket's limit) are reported the same way
    default = ModelsSession()
    assert default.max_upload_bytes == 14 << 20
    default.refuse_upload("C:\\fakepath\\huge.npz", 15 << 20)
    assert "'huge.npz' is 15,728,640 bytes, over the limit" in default.error
    assert str(user_models_dir()) in default.error and Path(default.model_path).stem == RELEASED1


def test_valid_upload_is_saved_in_the_user_folder_and_opened(session, home):
    data = bundled_model(RELEASED3).read_bytes()
    assert session.upload(data, "my model.npz") is True, session.error
    target = home / "models" / "my_model.npz"
    assert saved_models() == [target] and target.read_bytes() == data
    assert session.model_path == str(target) and session.opened_path == str(target)
    assert session.error == "" and str(target) in session.notice
    assert session.source == "uploaded, saved by you"
    assert len(rows(session, "Released units")) == 3
    assert session.choice == str(target)
    assert session.param.choice.names["MNIST 0-3 · linear, 3 released · my_model (yours)"] == str(target)
    # the same bytes again reuse the file; other bytes under the same name do not overwrite it
    assert session.upload(data, "my model.npz") and saved_models() == [target]
    other = bundled_model("ising32_single_hidden").read_bytes()
    assert session.upload(other, "my model.npz")
    assert set(saved_models()) == {target, home / "models" / "my_model-2.npz"}
    assert target.read_bytes() == data
    # a later session (e.g. after a restart) lists the saved models
    assert str(target) in ModelsSession().param.choice.names.values()


def test_upload_file_names_cannot_leave_the_user_folder(session, home):
    data = bundled_model("ising32_single_hidden").read_bytes()
    assert session.upload(data, "../../../etc/evil name.npz"), session.error
    assert saved_models() == [home / "models" / "evil_name.npz"]
    assert session.upload(data, "..npz") and (home / "models" / "uploaded_model.npz").exists()


def test_opening_a_missing_or_broken_file_keeps_the_model(session, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 truncated")
    for path in (broken, tmp_path / "missing.npz"):
        session.open(path)
        assert session.error and Path(session.model_path).stem == RELEASED1
    session.choice = str(bundled_model("mnist01_none"))  # the page keeps working
    assert session.error == "" and session.title == "MNIST 0/1 · unconstrained"


def test_published_parameters_are_read_only(session):
    """Views and other pages read the published state; only the session's own actions change it."""
    for name, value in (("title", "x"), ("error", "x"), ("summary", {}), ("mosaic", None), ("opened_path", "x")):
        with pytest.raises(TypeError, match="Constant parameter"):
            setattr(session, name, value)
    assert session.title == "MNIST 0/1 · linear, 1 released" and session.error == ""
    session.max_units = 8  # the user's inputs stay writable
    assert len(session.mosaic_info["units"]) == 8


def test_the_page_and_the_cli_share_one_summary(session):
    from rbm_explorer.io import summarize

    summary = summarize(load_model(bundled_model(RELEASED1)))
    assert session.summary == summary.tables
    lines = {tuple(line.split()) for line in summary.text(heading="m.npz").splitlines()}  # ``rbm-explorer info``
    for title, table in summary.tables.items():
        assert tuple(title.split()) in lines
        for row in [table["columns"], *table["rows"]] if any(table["columns"]) else table["rows"]:
            assert tuple(" ".join(row).split()) in lines, row


def test_initial_model_that_fails_falls_back_and_says_so(tmp_path):
    state = ModelsSession(initial=str(tmp_path / "gone.npz"))
    assert Path(state.model_path).stem == RELEASED1
    assert "gone.npz" in state.error


# --- text helpers and the page wiring -------------------------------------------------------------------------
def test_text_helpers_shorten_and_escape():
    assert unit_ranges([0, 2, 3, 4, 9]) == "0, 2–4, 9"
    assert format_value(list(range(1, 400))) == "1–399 (399 values)"
    assert format_value(0.123456789) == "0.1235" and format_value(None) == "—" and format_value(True) == "yes"
    assert format_value("x" * 500).endswith("…") and len(format_value("x" * 500)) == 160
    cell = md_cell("<img src=x onerror=alert(1)> | *b*")
    assert "<" not in cell and "\\|" in cell and "\\*b\\*" in cell


def test_hostile_metadata_text_is_escaped_in_the_page(session, tmp_path):
    import holoviews as hv
    import panel as pn

    from rbm_explorer.app.models_views import ModelsPage

    hv.extension("bokeh", logo=False)

    hostile = "<img src=x onerror=alert(1)>"
    path = save_model(tmp_path / "h.npz", tiny_rbm("binary", "binary"), {"description": hostile, "note": hostile})
    assert session.upload(path.read_bytes(), "h.npz"), session.error
    table = markdown_table(session.summary["Other metadata"])
    assert "<img" not in table and "&lt;img" in table
    root = ModelsPage(state=session).__panel__().get_root()  # the views build without a browser
    assert root is not None
    html = pn.pane.Markdown(table)._transform_object(table)["object"]
    assert "<img" not in html


def test_page_registers_and_shares_the_opened_model():
    from rbm_explorer.app.pages import ExplorerSession, ordered_pages

    page = {p.slug: p for p in ordered_pages()}["models"]
    assert page.title == "Models"
    session = ExplorerSession()
    view = page.build(session)
    state = view.state
    other = str(bundled_model("mnist01_none"))
    state.choice = other
    assert session.opened_model == other
    uploaded = bundled_model("ising32_single_hidden").read_bytes()
    assert state.upload(uploaded, "ising copy.npz")
    assert session.opened_model == str(user_models_dir() / "ising_copy.npz")
    session.close()


# --- the served page ----------------------------------------------------------------------------------------------


def _text(page, css: str) -> str:
    """Visible text of the elements matching ``css``, including what Panel renders inside their shadow roots."""
    locator = page.locator(css)
    texts = [locator.nth(k).evaluate(DEEP_TEXT) for k in range(locator.count()) if locator.nth(k).is_visible()]
    return " ".join(" ".join(texts).split())


@pytest.mark.browser
def test_served_page_shows_upload_errors_and_keeps_working(tmp_path, home):
    ARTIFACTS.mkdir(exist_ok=True)
    corrupt = tmp_path / "corrupt_model.npz"
    corrupt.write_bytes(bundled_model(RELEASED1).read_bytes()[:5000])  # a truncated real model
    valid = tmp_path / "my_ising.npz"
    valid.write_bytes(bundled_model("ising32_single_hidden").read_bytes())
    with served_app() as url, chromium_page(viewport=(1400, 1700)) as page:
        started = time.monotonic()
        page.goto(url + "/explorer?page=models")
        wait_until(lambda: "MNIST 0/1 · linear, 1 released" in _text(page, ".model-headline"), 120,
                   what="the Models page")
        assert "class 0" in _text(page, ".summary-released-units")
        assert page.locator(".weight-mosaic canvas").count() > 0
        print(f"page ready after {time.monotonic() - started:.1f} s")

        page.locator("input[type=file]").set_input_files(str(corrupt))
        wait_until(lambda: "not a readable .npz archive" in _text(page, ".model-error"), 60, what="the error alert")
        assert "corrupt_model.npz" in _text(page, ".model-error")
        assert "MNIST 0/1 · linear, 1 released" in _text(page, ".model-headline")  # the model stays
        page.screenshot(path=str(ARTIFACTS / "models_page_error.png"))

        huge = tmp_path / "huge.npz"  # over the upload limit: refused in the browser, never sent
        huge.write_bytes(b"\0" * (15 << 20))
        page.locator("input[type=file]").set_input_files(str(huge))
        wait_until(lambda: "'huge.npz' is 15,728,640 bytes" in _text(page, ".model-error"), 60,
                   what="the size error")

        page.locator("input[type=file]").set_input_files(str(valid))
        wait_until(lambda: "Ising 32x32 spins" in _text(page, ".model-headline"), 60, what="the uploaded model")
        assert "my_ising.npz" in _text(page, ".model-notice") and _text(page, ".model-error") == ""
        # the upload is the browser's own: it goes to the folder of the owner its cookie names
        saved = list(home.glob("owners/*/models/my_ising.npz"))
        assert len(saved) == 1 and saved[0].read_bytes() == valid.read_bytes()

        page.locator(".model-select select").select_option(label="MNIST 0-3 · linear, 3 released")
        wait_until(lambda: "MNIST 0-3 · linear, 3 released" in _text(page, ".model-headline"), 60,
                   what="the summary of the chosen model")
        wait_until(lambda: "class 3" in _text(page, ".summary-released-units"), 30, what="the released units")
        assert "mnist0123_linear_released3" in _text(page, ".summary-provenance")
        time.sleep(1.0)  # let the weight pictures draw
        page.screenshot(path=str(ARTIFACTS / "models_page.png"))
        assert page.foreign_requests == [], f"requests to other hosts: {page.foreign_requests}"
        assert page.page_errors == [], page.page_errors
