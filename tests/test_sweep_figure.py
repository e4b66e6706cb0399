"""The Ising β-sweep figure: PNG and standalone HTML from synthetic rows built from the exact solutions.

The rows mimic a sweep's CSV for L = 16, 32 and 7 β in [0.3, 0.6]: the heat capacity is the exact L×L torus value
(Ferdinand and Fisher 1969) with 2 % noise, ⟨|m|⟩ follows Onsager's spontaneous magnetization (Yang 1952) plus a
finite-size tail, and χ and U₄ are smooth bumps and steps of the right shape. The HTML page is read back through
its embedded Bokeh document (JSON, arrays base64 and possibly gzip-compressed), so the tests check what the page
would draw rather than strings in the markup.
"""

from __future__ import annotations

import base64
import gzip
import html
import io
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from rbm_explorer.ising.exact import BETA_C, onsager_heat_capacity, onsager_magnetization, torus_heat_capacity
from rbm_explorer.plotting import sweep_figure
from rbm_explorer.plotting.sweep_figure import SUFFIXES, write_sweep_plot

SIZES = (16, 32)
BETAS = np.linspace(0.3, 0.6, 7)
PANEL_TITLES = {"Magnetization", "Heat capacity", "Susceptibility", "Binder cumulant"}


def sweep_rows(J: float = 1.0, sizes=SIZES, betas=BETAS, seed: int = 0, as_text: bool = True) -> list[dict]:
    """Rows like the sweep's CSV (strings when ``as_text``); for J < 0 the staggered columns carry the order."""
    rng = np.random.default_rng(seed)
    rows = []
    for L in sizes:
        for beta in betas:
            c = float(torus_heat_capacity(L, beta, J))
            order = max(float(onsager_magnetization(beta * abs(J))), L ** -0.125 * np.exp(-L * max(BETA_C - beta, 0)))
            order += 0.004 * rng.standard_normal()
            chi = 0.1 * L**1.75 * np.exp(-0.5 * ((beta - BETA_C) * L) ** 2) + 0.5
            binder = (2 / 3) / (1 + np.exp(-1.5 * L * (beta - BETA_C)))
            disorder = {"m": 0.02, "chi": 0.3, "binder": 0.005 * rng.standard_normal()}
            ferro = J > 0
            row = {
                "L": L, "beta": beta, "J": J, "h": 0.0, "algorithm": "hybrid",
                "heat_capacity": c * (1 + 0.02 * rng.standard_normal()), "heat_capacity_err": 0.03 * c,
                "heat_capacity_exact": c, "energy": -1.0, "energy_err": 0.001, "energy_exact": -1.0,
                "abs_magnetization": order if ferro else disorder["m"], "abs_magnetization_err": 0.01,
                "staggered_magnetization": disorder["m"] if ferro else order, "staggered_magnetization_err": 0.01,
                "susceptibility": chi if ferro else disorder["chi"], "susceptibility_err": 0.05 * chi,
                "staggered_susceptibility": disorder["chi"] if ferro else chi, "staggered_susceptibility_err": 0.01,
                "binder": binder if ferro else disorder["binder"], "binder_err": 0.01,
                "correlation_length": 1.0, "correlation_length_err": 0.1,
            }
            rows.append({k: _as_csv(v) if as_text else v for k, v in row.items()})
    return rows


def _as_csv(value) -> str:
    """A value as the CSV writer spells it: ints plain, floats in full precision."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) else repr(float(value))


# ------------------------------------------------------------------------------------ reading an HTML page back


def _decode(node):
    """Bokeh's serialised document as plain Python: ndarrays as numpy arrays, maps as dicts, nan as float."""
    if isinstance(node, list):
        return [_decode(item) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "ndarray":
        raw = base64.b64decode(node["array"]["data"])
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return np.frombuffer(raw, dtype=node["dtype"]).reshape(node["shape"])
    if kind == "map":
        return {key: _decode(value) for key, value in node.get("entries", [])}
    if kind == "number":
        return float(node["value"])
    return {key: _decode(value) for key, value in node.items()}


def _models(tree, found=None) -> dict[str, dict]:
    """Every model of the decoded document by id (a model is written out in full once, then referenced)."""
    found = {} if found is None else found
    if isinstance(tree, list):
        for item in tree:
            _models(item, found)
    elif isinstance(tree, dict):
        if "id" in tree and "name" in tree and tree.get("type") == "object":
            found.setdefault(tree["id"], tree)
        for value in tree.values():
            _models(value, found)
    return found


def page_document(text: str) -> dict[str, dict]:
    payload = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', text, re.S).group(1)
    return _models(_decode(json.loads(html.unescape(payload))))


def _resolve(models, ref):
    return models[ref["id"]]


def panels(text: str) -> dict[str, dict]:
    """title → {"ylabel", "sources" (data dicts of its glyph renderers), "y_range" (attributes), "legend"}."""
    models = page_document(text)
    out = {}
    for model in models.values():
        if model["name"] != "Figure":
            continue
        attributes = model["attributes"]
        title = _resolve(models, attributes["title"])["attributes"]["text"]
        axis = _resolve(models, attributes["left"][0])["attributes"]
        renderers = [_resolve(models, r) for r in attributes["renderers"]]
        source_ids = dict.fromkeys(r["attributes"]["data_source"]["id"] for r in renderers)  # each once
        sources = [models[i]["attributes"]["data"] for i in source_ids]
        legends = [_resolve(models, c) for c in attributes.get("center", [])]
        labels = [_resolve(models, item)["attributes"]["label"]["value"]
                  for legend in legends if legend["name"] == "Legend"
                  for item in legend["attributes"]["items"]]
        out[title] = {"ylabel": axis["axis_label"], "sources": sources, "legend": labels,
                      "y_range": _resolve(models, attributes["y_range"]).get("attributes", {})}
    return out


def curve_sources(panel: dict) -> list[dict]:
    """The sources of the exact curves (β and value columns, no tooltip text)."""
    return [s for s in panel["sources"] if set(s) == {"beta", "value"}]


def point_sources(panel: dict) -> list[dict]:
    return [s for s in panel["sources"] if "text" in s]


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ferromagnet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ferromagnet")
    rows = sweep_rows()
    png = write_sweep_plot(rows, folder / "sweep.png")
    page = write_sweep_plot(rows, folder / "sweep.html")
    return folder, png, page


@pytest.fixture(scope="module")
def antiferromagnet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("antiferromagnet")
    rows = sweep_rows(J=-1.0)
    return rows, write_sweep_plot(rows, folder / "afm.png"), write_sweep_plot(rows, folder / "afm.html")


def assert_png_drawn(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (11 * 110, 8 * 110)
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    assert grey.std() > 10, "the PNG looks blank"
    assert (grey < 100).mean() > 0.005, "hardly any dark pixels: no axes, text or data"


# ------------------------------------------------------------------------------------------------------- PNG


def test_png_has_the_size_and_is_drawn(ferromagnet):
    folder, png, _ = ferromagnet
    assert png == folder / "sweep.png"
    assert_png_drawn(png)


def test_png_of_the_antiferromagnet_is_drawn(antiferromagnet):
    assert_png_drawn(antiferromagnet[1])


# ------------------------------------------------------------------------------------------------------ HTML


def test_html_is_self_contained(ferromagnet):
    text = ferromagnet[2].read_text(encoding="utf-8")
    assert "Bokeh" in text and "3.9" in text  # BokehJS itself, inline
    markup = re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", text, flags=re.S)
    for needle in ('src="http', "href=\"http", "cdn.bokeh.org", "<link"):
        assert needle not in markup, needle
    assert "<script src" not in markup and "cdn.bokeh.org" not in text
    # The inline BokehJS has one URL it can load by itself: MathJax, from a CDN, for a label written in TeX
    # ($$ … $$). The figure uses Unicode labels only, so that code never runs.
    loaders = re.findall(r'src="(https?://[^"]+)"', text)
    assert all("mathjax" in url for url in loaders), loaders
    strings = json.dumps(page_document(text), default=str, ensure_ascii=False)
    assert "$$" not in strings and "\\[" not in strings and "\\(" not in strings


def test_html_stays_self_contained_when_panel_is_loaded(tmp_path):
    """Panel registers its models' scripts with bokeh; a page written in the app's process must not list them."""
    import panel  # noqa: F401  (the import registers Panel's models with bokeh)

    path = write_sweep_plot(sweep_rows(), tmp_path / "with_panel.html")
    markup = re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", path.read_text(encoding="utf-8"), flags=re.S)
    assert "<script src" not in markup and "<link" not in markup


def test_html_has_the_four_panels_with_labels(ferromagnet):
    found = panels(ferromagnet[2].read_text(encoding="utf-8"))
    assert set(found) == PANEL_TITLES
    assert found["Magnetization"]["ylabel"] == "magnetization per spin ⟨|m|⟩"
    assert found["Heat capacity"]["ylabel"] == "heat capacity per spin C"
    assert found["Susceptibility"]["ylabel"] == "susceptibility per spin χ"
    assert found["Binder cumulant"]["ylabel"].startswith("Binder cumulant U₄")
    assert found["Magnetization"]["legend"][:2] == ["L = 16", "L = 32"]
    assert "<title>Ising β sweep: L = 16, 32 · hybrid</title>" in ferromagnet[2].read_text(encoding="utf-8")


def test_html_holds_the_exact_heat_capacity_of_each_size(ferromagnet):
    c_panel = panels(ferromagnet[2].read_text(encoding="utf-8"))["Heat capacity"]
    curves = curve_sources(c_panel)
    for L in SIZES:
        matches = [c for c in curves if np.allclose(c["value"], torus_heat_capacity(L, c["beta"]), rtol=1e-12)]
        assert len(matches) == 1, f"no exact C curve for L={L}"
        beta = matches[0]["beta"]
        assert len(beta) >= 200 and beta.min() < 0.3 and beta.max() > 0.6
        fine = np.linspace(0.3, 0.6, 3001)
        assert matches[0]["value"].max() == pytest.approx(torus_heat_capacity(L, fine).max(), rel=2e-3)
    # Onsager's C is there too, cut off near its divergence; the axis is set by the data and finite-L curves
    peak = max(float(torus_heat_capacity(32, np.linspace(0.3, 0.6, 3001)).max()), 1.0)
    onsager = [c for c in curves if np.allclose(c["value"], onsager_heat_capacity(c["beta"]), equal_nan=True,
                                                rtol=1e-12)
               and not any(np.allclose(c["value"], torus_heat_capacity(L, c["beta"])) for L in SIZES)]
    assert len(onsager) == 1
    top = c_panel["y_range"]["end"]
    assert peak < top < 2 * peak
    assert np.nanmax(onsager[0]["value"]) > top  # it leaves the axis, which it does not set


def test_html_holds_onsager_magnetization_above_beta_c(ferromagnet):
    m_panel = panels(ferromagnet[2].read_text(encoding="utf-8"))["Magnetization"]
    (curve,) = curve_sources(m_panel)
    assert curve["beta"].min() == pytest.approx(BETA_C) and curve["beta"].max() > 0.6
    np.testing.assert_allclose(curve["value"], onsager_magnetization(curve["beta"]), rtol=1e-12)


def test_html_tooltips_show_size_beta_value_error_and_algorithm(ferromagnet):
    text = ferromagnet[2].read_text(encoding="utf-8")
    models = page_document(text)
    hovers = [m["attributes"]["tooltips"] for m in models.values() if m["name"] == "HoverTool"]
    assert len(hovers) == 4
    for tooltips in hovers:
        fields = dict(tooltips)
        assert {"L", "β", "value", "algorithm"} <= set(fields)
    m_points = point_sources(panels(text)["Magnetization"])
    assert [list(s["L"]) for s in m_points] == [[16] * 7, [32] * 7]
    assert all(re.fullmatch(r"⟨\|m\|⟩ = [0-9.e-]+ ± 0\.01", t) for s in m_points for t in s["text"])
    assert {a for s in m_points for a in s["algorithm"]} == {"hybrid"}


# --------------------------------------------------------------------------------------------- antiferromagnet


def test_antiferromagnet_shows_the_staggered_order_parameter(antiferromagnet):
    rows, _, page = antiferromagnet
    found = panels(page.read_text(encoding="utf-8"))
    assert set(found) == {"Staggered magnetization", "Heat capacity", "Staggered susceptibility", "Binder cumulant"}
    assert found["Staggered magnetization"]["ylabel"] == "staggered magnetization per spin ⟨|mₛ|⟩"
    assert "staggered" in found["Staggered susceptibility"]["ylabel"]
    for title, key in (("Staggered magnetization", "staggered_magnetization"),
                       ("Staggered susceptibility", "staggered_susceptibility")):
        shown = sorted(float(v) for s in point_sources(found[title]) for v in s["value"])
        assert shown == sorted(float(r[key]) for r in rows), title
    # the heat capacity of J = −1 on an even torus is the ferromagnet's (the gauge to the ferromagnet)
    c_curves = curve_sources(found["Heat capacity"])
    assert any(np.allclose(c["value"], torus_heat_capacity(16, c["beta"])) for c in c_curves)
    assert "J = −1, h = 0" in page.read_text(encoding="utf-8")


def test_ferromagnet_and_antiferromagnet_together_are_labelled():
    # the figure's description, without drawing it (the drawing of each panel is tested above)
    rows = sweep_rows() + sweep_rows(J=-1.0, sizes=(16,), seed=1)
    figure = sweep_figure._describe(rows, None)
    magnetization, heat, chi, _ = figure.panels
    assert "staggered" in magnetization.title and "(J < 0)" in magnetization.ylabel
    assert "staggered" in chi.title and "χₛ (J < 0)" in chi.ylabel
    assert heat.title == "Heat capacity"
    assert [s.label for s in figure.series] == ["L = 16 · J = 1, h = 0", "L = 32 · J = 1, h = 0",
                                                "L = 16 · J = −1, h = 0"]
    assert len({s.color for s in figure.series}) == 3
    assert [p.key for p in magnetization.points] == ["abs_magnetization"] * 2 + ["staggered_magnetization"]
    assert figure.title == "Ising β sweep: L = 16, 32 · hybrid"


# ------------------------------------------------------------------------------------------ awkward inputs


@pytest.mark.filterwarnings("error")
def test_missing_and_nan_values_are_skipped(tmp_path):
    rows = sweep_rows(as_text=True)
    rows[0]["abs_magnetization"] = ""
    rows[1]["abs_magnetization"] = "nan"
    rows[2]["abs_magnetization_err"] = None
    rows[3]["heat_capacity"] = float("nan")
    del rows[4]["susceptibility"]
    for row in rows:
        if row["L"] == "32":
            row["binder"] = ""  # a whole quantity missing for one size
    rows.append({"L": "16", "beta": "", "abs_magnetization": "0.5"})  # a row with no β is skipped
    assert_png_drawn(write_sweep_plot(rows, tmp_path / "gaps.png"))
    text = write_sweep_plot(rows, tmp_path / "gaps.html", title="Run <7> & more").read_text(encoding="utf-8")
    assert "<title>Run &lt;7&gt; &amp; more</title>" in text
    found = panels(text)
    counts = {title: [len(s["beta"]) for s in point_sources(p)] for title, p in found.items()}
    assert counts == {"Magnetization": [5, 7], "Heat capacity": [6, 7], "Susceptibility": [6, 7],
                      "Binder cumulant": [7]}
    for panel in found.values():
        for source in point_sources(panel):
            assert np.isfinite(source["value"]).all()
    m16 = point_sources(found["Magnetization"])[0]
    assert not any("±" in t for t in m16["text"][:1])  # the row without an error shows no ± in its tooltip


def test_single_row_and_unsorted_rows(tmp_path):
    (row,) = sweep_rows(sizes=(16,), betas=[0.45])
    assert_png_drawn(write_sweep_plot([row], tmp_path / "one.png"))
    lo, hi = sweep_figure._describe([row], None).xlim
    assert lo < 0.45 < hi
    shuffled = sweep_rows(sizes=(16,)) + [row]
    np.random.default_rng(3).shuffle(shuffled)
    for panel in sweep_figure._describe(shuffled, None).panels:
        (points,) = panel.points
        np.testing.assert_allclose(points.beta, np.sort(np.append(BETAS, 0.45)))


def test_a_bad_suffix_is_refused(tmp_path):
    for name in ("sweep.pdf", "sweep", "sweep.csv"):
        with pytest.raises(ValueError, match=r"\.png or \.html"):
            write_sweep_plot(sweep_rows(), tmp_path / name)
    assert SUFFIXES == (".png", ".html")
    assert list(tmp_path.iterdir()) == []


def test_no_rows_is_an_error(tmp_path):
    for rows in ([], iter(())):
        with pytest.raises(ValueError, match="no rows to plot"):
            write_sweep_plot(rows, tmp_path / "empty.png")
    with pytest.raises(ValueError, match="no rows to plot"):
        write_sweep_plot([{"L": "", "beta": ""}], tmp_path / "empty.png")
    with pytest.raises(ValueError, match="heat_capacity='lots' is not a number"):
        write_sweep_plot([{"L": 16, "beta": 0.4, "heat_capacity": "lots"}], tmp_path / "bad.png")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ atomic write


def test_the_write_is_atomic(ferromagnet, tmp_path, monkeypatch):
    folder = ferromagnet[0]
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.html", "sweep.png"], "temporary files left behind"
    # an interrupted write leaves the old file as it was and no temporary file (drawing stubbed out: fast)
    monkeypatch.setattr(sweep_figure, "_png_bytes", lambda figure: b"new picture")
    target = tmp_path / "sweep.png"
    target.write_bytes(b"old picture")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(sweep_figure.os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_sweep_plot(sweep_rows(sizes=(16,)), target)
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.png"], "a temporary file was left behind"
    assert target.read_bytes() == b"old picture"
    write_sweep_plot(sweep_rows(sizes=(16,)), target)
    assert target.read_bytes() == b"new picture"
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert (folder / "sweep.png").stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not 0o600


# ----------------------------------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_the_page_draws_offline_in_chromium(ferromagnet):
    from browser_support import chromium_page

    with chromium_page() as page:
        page.goto(ferromagnet[2].as_uri())
        page.wait_for_selector(".bk-Canvas, canvas", state="attached", timeout=30000)
        page.wait_for_timeout(500)
        assert page.page_errors == []
        assert [url for url in page.foreign_requests if not url.startswith("file:")] == []
        shot = Image.open(io.BytesIO(page.screenshot()))
        assert np.asarray(shot.convert("L"), dtype=float).std() > 10
