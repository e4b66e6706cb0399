"""The figure of an Ising β sweep: magnetization, heat capacity, susceptibility and Binder cumulant against β.

:func:`write_sweep_plot` takes the sweep's rows (dicts, as read from its CSV) and writes a PNG (matplotlib) or a
standalone HTML page (bokeh, resources inline so it opens offline), chosen by the file's suffix. The four panels
show the measured points with their error bars, one colour per lattice size L (and per (J, h) when a sweep
holds several), with the exact results where they exist:

* ⟨|m|⟩ tends to the spontaneous magnetization M(β) of the infinite lattice for β > β_c (Yang 1952);
* the heat capacity of the finite L×L torus is exact at h = 0 (Ferdinand and Fisher 1969), and that of the
  infinite lattice diverges logarithmically at β_c (Onsager 1944);
* the Binder cumulant U₄ = 1 − ⟨m⁴⟩/3⟨m²⟩² goes from 0 to 2/3 across the transition (Binder 1981).

For an antiferromagnet (J < 0) the order parameter is the staggered magnetization m_s: the gauge
s → (−1)^{x+y} s maps it at h = 0 onto the ferromagnet with |J|, so its panels show ⟨|m_s|⟩ and χ_s, compared
with the same M(β|J|), and its heat capacity is the ferromagnet's at β|J|. Every critical coupling is
β_c/|J|, with β_c = ln(1 + √2)/2.

The figure is first described independently of the drawing library (:class:`_SweepFigure`), then drawn by
:func:`_png_bytes` or :func:`_html_bytes`; matplotlib and bokeh are imported only when their format is asked for.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rbm_explorer.ising.exact import BETA_C, onsager_heat_capacity, onsager_magnetization, torus_heat_capacity

__all__ = ["SUFFIXES", "write_sweep_plot"]

SUFFIXES: tuple[str, ...] = (".png", ".html")
"""The file formats :func:`write_sweep_plot` writes, chosen by the path's suffix."""

PNG_SIZE_INCHES = (11.0, 8.0)
PNG_DPI = 110

# Okabe and Ito's colour-blind-safe palette (without its yellow, too pale on white), then a few more
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#7F7F7F", "#BCBD22")
_MPL_MARKERS = ("o", "s", "^", "D", "v", "P")
_BOKEH_MARKERS = ("circle", "square", "triangle", "diamond", "inverted_triangle", "plus")

_CURVE_POINTS = 200  # β points of every exact curve over the plotted range
_ONSAGER_C_HEADROOM = 4.0  # the infinite-lattice C is dropped above this multiple of the axis top
_FINITE_C_LABEL = "C, exact L×L torus (Ferdinand and Fisher 1969)"


# ------------------------------------------------------------------------------------------ what is plotted


@dataclass(frozen=True)
class _Quantity:
    """A column of the sweep: its name in words, its symbol in Unicode (bokeh) and in mathtext without the
    dollars (matplotlib), and the definition its axis label adds, if any."""

    name: str
    symbol: str
    tex: str
    definition: str = ""
    definition_tex: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.symbol}{self.definition}"

    @property
    def label_tex(self) -> str:
        return f"{self.name} ${self.tex}{self.definition_tex}$"


_QUANTITIES = {
    "abs_magnetization": _Quantity("magnetization per spin", "⟨|m|⟩", r"\langle |m| \rangle"),
    "staggered_magnetization": _Quantity("staggered magnetization per spin", "⟨|mₛ|⟩",
                                         r"\langle |m_\mathrm{s}| \rangle"),
    "heat_capacity": _Quantity("heat capacity per spin", "C", "C"),
    "susceptibility": _Quantity("susceptibility per spin", "χ", r"\chi"),
    "staggered_susceptibility": _Quantity("staggered susceptibility per spin", "χₛ", r"\chi_\mathrm{s}"),
    "binder": _Quantity("Binder cumulant", "U₄", "U_4", " = 1 − ⟨m⁴⟩/3⟨m²⟩²",
                        r" = 1 - \langle m^4 \rangle / 3 \langle m^2 \rangle^2"),
    "energy": _Quantity("energy per spin", "e", "e"),
    "correlation_length": _Quantity("second-moment correlation length", "ξ", r"\xi"),
}
_NUMERIC_COLUMNS = tuple(_QUANTITIES) + tuple(f"{key}_err" for key in _QUANTITIES) + (
    "energy_exact", "heat_capacity_exact")


@dataclass(frozen=True)
class _PanelSpec:
    """One of the four panels: the column it shows for J ≥ 0 and for J < 0, and where its legend goes."""

    kind: str
    title: str
    key: str
    afm_key: str
    legend_corner: str


_PANELS = (
    _PanelSpec("magnetization", "Magnetization", "abs_magnetization", "staggered_magnetization", "center_right"),
    _PanelSpec("heat_capacity", "Heat capacity", "heat_capacity", "heat_capacity", "top_right"),
    _PanelSpec("susceptibility", "Susceptibility", "susceptibility", "staggered_susceptibility", "top_left"),
    _PanelSpec("binder", "Binder cumulant", "binder", "binder", "top_left"),
)


@dataclass(frozen=True)
class _Row:
    L: int
    beta: float
    J: float
    h: float
    algorithm: str
    values: Mapping[str, float]


@dataclass(frozen=True)
class _Series:
    """The rows of one (L, J, h), sorted by β, with the colour and marker they are drawn in."""

    index: int
    L: int
    J: float
    h: float
    label: str
    color: str
    marker: int
    beta: np.ndarray
    algorithms: tuple[str, ...]
    columns: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class _Points:
    """A series' measured points in one panel (finite values only) and the line joining them (NaN = a gap)."""

    series: _Series
    key: str
    beta: np.ndarray
    value: np.ndarray
    error: np.ndarray  # NaN where the row has no usable error
    algorithm: tuple[str, ...]
    line_beta: np.ndarray
    line_value: np.ndarray


@dataclass(frozen=True)
class _Curve:
    """An exact curve; ``style`` is "finite" (a series' own L, in its colour), "onsager_m" or "onsager_c"."""

    style: str
    label: str
    beta: np.ndarray
    value: np.ndarray
    series: _Series | None = None


@dataclass(frozen=True)
class _Panel:
    spec: _PanelSpec
    title: str
    ylabel: str
    ylabel_tex: str
    points: tuple[_Points, ...]
    curves: tuple[_Curve, ...]
    ylim: tuple[float, float] | None
    hlines: tuple[float, ...]


@dataclass(frozen=True)
class _SweepFigure:
    title: str
    xlim: tuple[float, float]
    beta_c: tuple[float, ...]
    panels: tuple[_Panel, ...]
    series: tuple[_Series, ...]


# ------------------------------------------------------------------------------------------------- public API


def write_sweep_plot(rows: Iterable[Mapping], path, *, title: str | None = None) -> Path:
    """Draw an Ising β sweep and write it to ``path``, as PNG or standalone HTML according to its suffix.

    Four panels against β: ⟨|m|⟩, the heat capacity C, the susceptibility χ and the Binder cumulant U₄
    (Binder 1981), one colour per L, with error bars and the exact curves of the infinite lattice (Onsager 1944;
    Yang 1952) and of the finite torus (Ferdinand and Fisher 1969). Antiferromagnet rows (J < 0) show the
    staggered magnetization and susceptibility instead, their order parameter. The file is written to a
    temporary name in the same folder and renamed over ``path``, so an interrupted write never leaves half a
    file.

    Parameters
    ----------
    rows : iterable of mapping
        The sweep's rows, as read from its CSV: keys ``L``, ``beta``, ``J``, ``h``, ``algorithm`` and, for each
        quantity q, ``q`` and ``q_err`` (plus ``heat_capacity_exact``). Values may be numbers or strings that
        parse as numbers; an empty string, None, NaN or a missing key is a missing value, whose point is left
        out. A missing J or h is 1 or 0; a row without L or a finite β is skipped. The order does not matter.
    path : str or os.PathLike
        Where to write: ``.png`` (11 × 8 inches at 110 dpi) or ``.html`` (bokeh, with hover tooltips; no
        request to any other host when opened). Its folder must exist.
    title : str, optional
        The figure's title; by default built from the rows, e.g. "Ising β sweep: L = 16, 32 · hybrid".

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        For a suffix other than those in :data:`SUFFIXES`, no rows ("no rows to plot"), no row with both L and a
        finite β, or a value that is not a number.
    """
    path = Path(path)
    render = _renderer(path)
    figure = _describe(list(rows), title)
    _write_atomically(path, render(figure))
    return path


def _renderer(path: Path):
    """The function that draws a :class:`_SweepFigure` into the bytes of ``path``'s format."""
    renderers = {".png": _png_bytes, ".html": _html_bytes}
    suffix = path.suffix.lower()
    if suffix not in renderers:
        allowed = " or ".join(SUFFIXES)
        raise ValueError(f"cannot write a sweep plot to {path}: the name must end in {allowed}, got "
                         f"{path.suffix or 'no suffix'!r}")
    return renderers[suffix]


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file next to ``path``, flush it to disk, then rename it over ``path``.

    The temporary name is unique (pid and a random part), created exclusively with mode 0o666 so that the
    umask gives the result the permissions of any new file; on any failure it is removed.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


# ------------------------------------------------------------------------------------------------ reading rows


def _number(row: Mapping, key: str, index: int, default: float = math.nan) -> float:
    """``row[key]`` as a float; ``default`` when it is missing, None or an empty string."""
    value = row.get(key)
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"row {index}: {key}={value!r} is not a number") from None


def _parse_row(row: Mapping, index: int) -> _Row | None:
    """One row as numbers, or None if it has no L or no finite β to place it."""
    size = _number(row, "L", index)
    beta = _number(row, "beta", index)
    if not (math.isfinite(size) and math.isfinite(beta)):
        return None
    if size < 1 or not size.is_integer():
        raise ValueError(f"row {index}: L={row.get('L')!r} is not a lattice size")
    if beta <= 0:
        raise ValueError(f"row {index}: beta={row.get('beta')!r} must be > 0")
    values = {key: _number(row, key, index) for key in _NUMERIC_COLUMNS}
    algorithm = str(row.get("algorithm") or "").strip()
    J, h = _number(row, "J", index, 1.0), _number(row, "h", index, 0.0)
    J = J if math.isfinite(J) else 1.0  # NaN is a missing value like any other, so the defaults apply
    h = h if math.isfinite(h) else 0.0
    return _Row(int(size), beta, J, h, algorithm, values)


def _format(x: float) -> str:
    """A number as in a label: 0.5, 16, −1 (with a true minus sign)."""
    return f"{x:g}".replace("-", "−")


def _group(rows: list[_Row]) -> tuple[_Series, ...]:
    """The rows grouped by (J, h, L), ferromagnets first, each sorted by β and given its colour and marker."""
    groups: dict[tuple[float, float, int], list[_Row]] = {}
    for row in rows:
        groups.setdefault((row.J, row.h, row.L), []).append(row)
    keys = sorted(groups, key=lambda k: (k[0] < 0, abs(k[0]), k[1], k[2]))
    combos = list(dict.fromkeys((J, h) for J, h, _ in keys))
    out = []
    for index, (J, h, L) in enumerate(keys):
        members = sorted(groups[(J, h, L)], key=lambda r: r.beta)
        label = f"L = {L}" if len(combos) == 1 else f"L = {L} · J = {_format(J)}, h = {_format(h)}"
        columns = {key: np.array([r.values[key] for r in members]) for key in _NUMERIC_COLUMNS}
        out.append(_Series(index, L, J, h, label, PALETTE[index % len(PALETTE)],
                           combos.index((J, h)), np.array([r.beta for r in members]),
                           tuple(r.algorithm for r in members), columns))
    return tuple(out)


def _default_title(series: tuple[_Series, ...]) -> str:
    """"Ising β sweep: L = 16, 32 · hybrid", plus "J = −1, h = 0" when every row has the same non-default J, h."""
    sizes = ", ".join(str(L) for L in sorted({s.L for s in series}))
    parts = [f"Ising β sweep: L = {sizes}"]
    algorithms = sorted({a for s in series for a in s.algorithms if a})
    if algorithms:
        parts.append(", ".join(algorithms))
    combos = {(s.J, s.h) for s in series}
    if len(combos) == 1 and combos != {(1.0, 0.0)}:
        (J, h), = combos
        parts.append(f"J = {_format(J)}, h = {_format(h)}")
    return " · ".join(parts)


# ------------------------------------------------------------------------------------------ describing panels


def _describe(rows: list[Mapping], title: str | None) -> _SweepFigure:
    """Everything the figure shows, independent of the library that draws it."""
    if not rows:
        raise ValueError("no rows to plot")
    parsed = [row for index, raw in enumerate(rows) if (row := _parse_row(raw, index)) is not None]
    if not parsed:
        raise ValueError("no rows to plot: no row has both an L and a finite beta")
    series = _group(parsed)
    xlim = _beta_range(np.array([row.beta for row in parsed]))
    beta_c = tuple(sorted({BETA_C / abs(s.J) for s in series if s.J != 0}))
    panels = tuple(_panel(spec, series, xlim) for spec in _PANELS)
    return _SweepFigure(title if title is not None else _default_title(series), xlim, beta_c, panels, series)


def _beta_range(beta: np.ndarray) -> tuple[float, float]:
    """The plotted β range: the rows' range with a 4 % margin (±5 % of β around a single value), above 0."""
    lo, hi = float(beta.min()), float(beta.max())
    pad = 0.04 * (hi - lo) if hi > lo else 0.05 * lo
    return max(lo - pad, 0.5 * lo), hi + pad


def _points(spec: _PanelSpec, series: _Series) -> _Points | None:
    """The finite points of ``series`` in the panel, or None if it has none there."""
    key = _key(spec, series)
    value = series.columns[key]
    error = series.columns[f"{key}_err"]
    finite = np.isfinite(value)
    if not finite.any():
        return None
    usable = finite & np.isfinite(error) & (error >= 0)
    error = np.where(usable, error, np.nan)
    algorithms = tuple(a for a, keep in zip(series.algorithms, finite, strict=True) if keep)
    return _Points(series, key, series.beta[finite], value[finite], error[finite], algorithms, series.beta,
                   np.where(finite, value, np.nan))


def _key(spec: _PanelSpec, series: _Series) -> str:
    """The column a series shows in the panel: the staggered one for an antiferromagnet."""
    return spec.afm_key if series.J < 0 else spec.key


def _labels(spec: _PanelSpec, series: tuple[_Series, ...]) -> tuple[str, str, str]:
    """The panel's title and y-axis label (Unicode and mathtext), saying which rows show the staggered
    quantity."""
    keys = {_key(spec, s) for s in series}
    if keys == {spec.key} or keys == {spec.afm_key}:
        q = _QUANTITIES[keys.pop()]
        staggered = q is _QUANTITIES[spec.afm_key] and spec.key != spec.afm_key
        title = f"Staggered {spec.title.lower()}" if staggered else spec.title
        return title, q.label, q.label_tex
    q, s = _QUANTITIES[spec.key], _QUANTITIES[spec.afm_key]
    title = f"{spec.title} (J > 0), staggered (J < 0)"
    return (title, f"{q.symbol} (J > 0), {s.symbol} (J < 0) per spin",
            f"${q.tex}$ ($J > 0$), ${s.tex}$ ($J < 0$) per spin")


def _panel(spec: _PanelSpec, series: tuple[_Series, ...], xlim: tuple[float, float]) -> _Panel:
    points = tuple(p for s in series if (p := _points(spec, s)) is not None)
    title, ylabel, ylabel_tex = _labels(spec, series)
    curves: list[_Curve] = []
    ylim = None
    hlines: tuple[float, ...] = ()
    if spec.kind == "magnetization":
        curves = _onsager_magnetization_curves(series, xlim)
    elif spec.kind == "heat_capacity":
        curves = _finite_heat_capacity_curves(series, xlim)
        ylim = _data_limits(points, curves)
        if ylim is not None:
            curves += _onsager_heat_capacity_curves(series, xlim, ylim[1])
    elif spec.kind == "binder":
        hlines = (2.0 / 3.0,)
    return _Panel(spec, title, ylabel, ylabel_tex, points, tuple(curves), ylim, hlines)


def _data_limits(points: tuple[_Points, ...], curves: list[_Curve]) -> tuple[float, float] | None:
    """y limits that hold every point with its error bar and every curve, with a 6 % margin; None if empty."""
    pieces = [np.zeros(1)]
    for p in points:
        err = np.nan_to_num(p.error, nan=0.0)
        pieces += [p.value + err, p.value - err]
    pieces += [c.value[np.isfinite(c.value)] for c in curves]
    values = np.concatenate(pieces)
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return None
    pad = 0.06 * (hi - lo)
    return (lo - pad if lo < 0 else 0.0), hi + pad


# ------------------------------------------------------------------------------------------------ exact curves


def _grid(lo: float, hi: float, centre: float | None = None) -> np.ndarray:
    """About 200 β points from ``lo`` to ``hi``, denser near ``centre`` (β_c) where the exact curves are steep;
    ``centre`` itself is left out (the infinite-lattice C is infinite there)."""
    grid = np.linspace(lo, hi, _CURVE_POINTS)
    if centre is not None and lo <= centre <= hi:
        offsets = (hi - lo) * np.geomspace(1e-6, 0.05, 40)
        grid = np.concatenate([grid, centre - offsets, centre + offsets])
        grid = grid[(grid >= lo) & (grid <= hi) & (grid != centre)]
    return np.unique(grid)


def _couplings_at_zero_field(series: tuple[_Series, ...]) -> list[float]:
    """The distinct |J| > 0 of the series at h = 0, where the exact solutions hold."""
    return sorted({abs(s.J) for s in series if s.h == 0 and s.J != 0})


def _onsager_magnetization_curves(series: tuple[_Series, ...], xlim: tuple[float, float]) -> list[_Curve]:
    """M(β|J|) for β ≥ β_c/|J| (Yang 1952): the limit of ⟨|m|⟩ for J > 0, and of ⟨|m_s|⟩ for J < 0."""
    curves = []
    for coupling in _couplings_at_zero_field(series):
        critical = BETA_C / coupling
        if critical >= xlim[1]:
            continue
        beta = _grid(max(xlim[0], critical), xlim[1], critical)
        if critical >= xlim[0]:
            beta = np.concatenate([[critical], beta])  # M = 0 there: the curve starts on the axis
        value = np.asarray(onsager_magnetization(beta * coupling))
        curves.append(_Curve("onsager_m", "spontaneous M, L = ∞ (Yang 1952)", beta, value))
    return curves


def _finite_heat_capacity_curves(series: tuple[_Series, ...], xlim: tuple[float, float]) -> list[_Curve]:
    """Each series' exact heat capacity: the L×L torus at h = 0 (Ferdinand and Fisher 1969) as a smooth curve,
    otherwise the rows' own ``heat_capacity_exact`` values (e.g. from enumeration), where there are any."""
    curves = []
    for s in series:
        curve = _torus_heat_capacity_curve(s, xlim) if s.h == 0 else None
        exact = s.columns["heat_capacity_exact"]
        keep = np.isfinite(exact)
        if curve is None and keep.any():
            curve = _Curve("finite", _FINITE_C_LABEL, s.beta[keep], exact[keep], s)
        if curve is not None:
            curves.append(curve)
    return curves


def _torus_heat_capacity_curve(series: _Series, xlim: tuple[float, float]) -> _Curve | None:
    """The smooth exact C of the series' torus, or None where the formula does not apply (J = 0, an odd
    antiferromagnet, L < 2, β|J| beyond its float64 range)."""
    if series.J == 0:
        return None
    beta = _grid(*xlim, BETA_C / abs(series.J))
    try:
        value = np.asarray(torus_heat_capacity(series.L, beta, series.J))
    except ValueError:
        return None
    return _Curve("finite", _FINITE_C_LABEL, beta, value, series)


def _onsager_heat_capacity_curves(series: tuple[_Series, ...], xlim: tuple[float, float], top: float
                                  ) -> list[_Curve]:
    """The infinite lattice's C(β|J|) (Onsager 1944), cut where it rises far above the axis top: it diverges at
    β_c, and the axis is set by the measured points and the finite-L curves."""
    curves = []
    for coupling in _couplings_at_zero_field(series):
        beta = _grid(*xlim, BETA_C / coupling)
        value = np.asarray(onsager_heat_capacity(beta * coupling), dtype=np.float64)
        value = np.where(np.isfinite(value) & (value <= _ONSAGER_C_HEADROOM * top), value, np.nan)
        curves.append(_Curve("onsager_c", "C, L = ∞ (Onsager 1944)", beta, value))
    return curves


# -------------------------------------------------------------------------------------------------- matplotlib

_MPL_CURVE_STYLE = {
    "finite": dict(linestyle="-", linewidth=1.5, alpha=0.45, zorder=1),
    "onsager_m": dict(color="black", linestyle=(0, (5, 3)), linewidth=1.2, zorder=2),
    "onsager_c": dict(color="0.45", linestyle=(0, (4, 3)), linewidth=0.9, zorder=1),
}
_HLINE_LABELS = {2.0 / 3.0: "2/3 (ordered phase)"}
_MPL_BETA_C_STYLE = dict(color="0.35", linestyle=":", linewidth=1.1, zorder=0)


@dataclass
class _MplLegend:
    """The entries of the figure's legend, label → artist, each once: the series first, then the references."""

    series: dict
    references: dict

    def entries(self) -> tuple[list, list]:
        merged = {**self.series, **self.references}
        return list(merged.values()), list(merged)


def _png_bytes(figure: _SweepFigure) -> bytes:
    """The figure as PNG: a 2×2 grid of matplotlib axes on an Agg canvas, one shared legend below them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PNG_SIZE_INCHES, dpi=PNG_DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2, sharex=True)
    legend = _MplLegend({}, {})
    for ax, panel in zip(axes.flat, figure.panels, strict=True):
        _mpl_panel(ax, panel, figure, legend)
    for ax in axes[1]:
        ax.set_xlabel(r"inverse temperature $\beta = 1/T$", fontsize=10)
    fig.suptitle(figure.title, fontsize=13, parse_math=False)  # a "$" in a given title is not mathtext
    handles, labels = legend.entries()
    fig.legend(handles, labels, loc="outside lower center", frameon=False, fontsize=9,
               ncols=max(1, min(5, math.ceil(len(handles) / 2))), handlelength=2.6, columnspacing=2.0)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()


def _mpl_panel(ax, panel: _Panel, figure: _SweepFigure, legend: _MplLegend) -> None:
    """Draw one panel on ``ax``: the references (β_c, exact curves) under the measured points."""
    from matplotlib.lines import Line2D

    for beta_c in figure.beta_c:
        if figure.xlim[0] < beta_c < figure.xlim[1]:
            ax.axvline(beta_c, **_MPL_BETA_C_STYLE)
            legend.references.setdefault(_beta_c_label(beta_c, tex=True), Line2D([], [], **_MPL_BETA_C_STYLE))
    for value in panel.hlines:
        ax.axhline(value, color="0.8", linewidth=0.8, zorder=0)
        ax.annotate(_HLINE_LABELS.get(value, ""), (0.0, value), xycoords=("axes fraction", "data"),
                    xytext=(4, -2), textcoords="offset points", ha="left", va="top", fontsize=8, color="0.45")
    for curve in panel.curves:
        _mpl_curve(ax, curve, legend)
    for points in panel.points:
        _mpl_points(ax, points, legend)
    ax.set_xlim(*figure.xlim)
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    if not panel.points:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="0.5")
    ax.set_title(panel.title, fontsize=11)
    ax.set_ylabel(panel.ylabel_tex, fontsize=10)
    ax.grid(True, color="0.92", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.tick_params(direction="in", top=True, right=True, labelsize=9)


def _mpl_curve(ax, curve: _Curve, legend: _MplLegend) -> None:
    """An exact curve; the finite-L ones (in their series' colour) share one grey legend entry."""
    from matplotlib.lines import Line2D

    style = dict(_MPL_CURVE_STYLE[curve.style])
    if curve.series is not None:
        style["color"] = curve.series.color
    ax.plot(curve.beta, curve.value, **style)
    if curve.style == "finite":
        style.update(color="0.3", alpha=0.7)
    legend.references.setdefault(curve.label, Line2D([], [], **style))


def _mpl_points(ax, points: _Points, legend: _MplLegend) -> None:
    """A series' points with error bars, joined by a thin line that breaks where a value is missing."""
    s = points.series
    ax.plot(points.line_beta, points.line_value, color=s.color, linewidth=0.8, alpha=0.7, zorder=3)
    container = ax.errorbar(points.beta, points.value, yerr=np.nan_to_num(points.error, nan=0.0),
                            fmt=_MPL_MARKERS[s.marker % len(_MPL_MARKERS)], markersize=5, color=s.color,
                            markeredgecolor="white", markeredgewidth=0.6, elinewidth=1.0, capsize=2.0,
                            capthick=1.0, zorder=4)
    legend.series.setdefault(s.label, container)


def _beta_c_label(beta_c: float, tex: bool) -> str:
    """"β_c = 0.4407", or "β_c/|J| = 0.2203" when |J| ≠ 1."""
    name = r"$\beta_\mathrm{c}$" if tex else "β_c"
    if not math.isclose(beta_c, BETA_C):
        name += "/|J|"
    return f"{name} = {beta_c:.4f}"


# ------------------------------------------------------------------------------------------------------- bokeh

_BOKEH_CURVE_STYLE = {
    "finite": dict(line_width=2.0, line_alpha=0.45),
    "onsager_m": dict(line_color="black", line_dash="dashed", line_width=1.5),
    "onsager_c": dict(line_color="#777777", line_dash="dashed", line_width=1.0),
}


_BOKEH_LEGEND_HEADROOM = 0.25  # extra room above a fixed y range, where the legend goes


def _html_bytes(figure: _SweepFigure) -> bytes:
    """The figure as a standalone HTML page: a bokeh gridplot of four figures sharing the β axis, BokehJS
    inline."""
    from bokeh.embed import file_html
    from bokeh.layouts import column, gridplot
    from bokeh.models import Div, Range1d

    x_range = Range1d(*figure.xlim)
    leaders: dict[int, object] = {}
    plots = [_bokeh_panel(panel, figure, x_range, leaders) for panel in figure.panels]
    grid = gridplot(plots, ncols=2, merge_tools=True, toolbar_location="right")
    grid.toolbar.logo = None
    # disable_math: a "$$" in a given title must not make BokehJS fetch MathJax from a CDN
    heading = Div(text=f"<h2 style='font-family: sans-serif; font-weight: normal; margin: 6px 0 0 40px'>"
                       f"{html.escape(figure.title)}</h2>", disable_math=True)
    page = file_html(column(heading, grid), resources=_bokeh_only_inline(), title=figure.title)
    return page.encode("utf-8")


def _bokeh_only_inline():
    """BokehJS inline and nothing else. Bokeh's resources list the scripts of every registered model class; once
    Panel is imported in the process (the app, or a test run), that includes a relative ``static/extensions/...``
    script, which a page opened from disk cannot load. The figure uses bokeh's own models only."""
    from bokeh.resources import Resources

    class BokehOnlyInline(Resources):
        @property
        def js_files(self):
            return []

        @property
        def css_files(self):
            return []

        def clone(self, *, components=None):  # bokeh's bundler clones the resources it is given
            return BokehOnlyInline(mode="inline", components=components)

    return BokehOnlyInline(mode="inline")


def _bokeh_panel(panel: _Panel, figure: _SweepFigure, x_range, leaders: dict[int, object]):
    """One bokeh figure. ``leaders`` maps a series to its markers in the first panel that shows it, which carry
    its legend entry; its renderers in later panels follow their visibility, so a click on the legend hides
    that size everywhere."""
    from bokeh.models import HoverTool, Legend, Range1d
    from bokeh.plotting import figure as bokeh_figure

    fig = bokeh_figure(width=560, height=380, title=panel.title, x_range=x_range,
                       x_axis_label="inverse temperature β = 1/T", y_axis_label=panel.ylabel,
                       tools="pan,box_zoom,wheel_zoom,reset,save")
    if panel.ylim is not None:
        lo, hi = panel.ylim
        fig.y_range = Range1d(lo, hi + _BOKEH_LEGEND_HEADROOM * (hi - lo))
    _bokeh_references(fig, panel, figure, labelled=panel is figure.panels[0])
    references = _bokeh_curves(fig, panel.curves)
    series_items, markers = [], []
    for points in panel.points:
        markers.append(_bokeh_points(fig, points, series_items, leaders))
    if markers:
        fig.add_tools(HoverTool(renderers=markers, tooltips=[
            ("L", "@L"), ("β", "@beta{0.00000}"), ("value", "@text"), ("J, h", "@coupling"),
            ("algorithm", "@algorithm")]))
    if series_items or references:
        fig.add_layout(Legend(items=series_items + references, location=panel.spec.legend_corner,
                              click_policy="hide", label_text_font_size="9pt", background_fill_alpha=0.85,
                              spacing=0, padding=6))
    fig.title.text_font_size = "12pt"
    fig.xgrid.grid_line_color = fig.ygrid.grid_line_color = "#eeeeee"
    return fig


def _bokeh_references(fig, panel: _Panel, figure: _SweepFigure, labelled: bool) -> None:
    """The dotted line at each β_c (``labelled`` at the bottom of the frame) and the U₄ = 2/3 line."""
    from bokeh.models import Label, Span

    for beta_c in figure.beta_c:
        fig.add_layout(Span(location=beta_c, dimension="height", line_color="#555555", line_dash="dotted",
                            line_width=1.2))
        if labelled:
            fig.add_layout(Label(x=beta_c, y=4, y_units="screen", x_offset=3, text_font_size="8pt",
                                 text=_beta_c_label(beta_c, tex=False), text_color="#555555"))
    for value in panel.hlines:
        fig.add_layout(Span(location=value, dimension="width", line_color="#cccccc", line_width=1.0))


def _bokeh_curves(fig, curves: tuple[_Curve, ...]) -> list:
    """The exact curves, and their legend items: one per label (all finite-L curves share one)."""
    from bokeh.models import ColumnDataSource, LegendItem

    by_label: dict[str, list] = {}
    for curve in curves:
        style = dict(_BOKEH_CURVE_STYLE[curve.style])
        if curve.series is not None:
            style["line_color"] = curve.series.color
        source = ColumnDataSource(data=dict(beta=curve.beta, value=curve.value))
        by_label.setdefault(curve.label, []).append(fig.line("beta", "value", source=source, **style))
    return [LegendItem(label=label, renderers=renderers) for label, renderers in by_label.items()]


def _bokeh_points(fig, points: _Points, items: list, leaders: dict[int, object]):
    """A series' line, error bars and markers (the markers carry the hover tooltip); returns the markers."""
    from bokeh.models import ColumnDataSource, LegendItem

    s = points.series
    err = np.nan_to_num(points.error, nan=0.0)
    source = ColumnDataSource(data=dict(
        beta=points.beta, value=points.value, lower=points.value - err, upper=points.value + err,
        L=[s.L] * len(points.beta), text=_tooltip_values(points), algorithm=list(points.algorithm),
        coupling=[f"{_format(s.J)}, {_format(s.h)}"] * len(points.beta)))
    line = fig.line(points.line_beta, points.line_value, line_color=s.color, line_width=1.0, line_alpha=0.7)
    bars = fig.segment("beta", "lower", "beta", "upper", source=source, line_color=s.color, line_width=1.2)
    markers = fig.scatter("beta", "value", source=source, marker=_BOKEH_MARKERS[s.marker % len(_BOKEH_MARKERS)],
                          size=7, fill_color=s.color, line_color="white", line_width=0.8)
    renderers = [markers, line, bars]
    if s.index in leaders:
        for renderer in renderers:
            leaders[s.index].js_link("visible", renderer, "visible")
    else:
        leaders[s.index] = markers
        items.append(LegendItem(label=s.label, renderers=renderers))
    return markers


def _tooltip_values(points: _Points) -> list[str]:
    """"⟨|m|⟩ = 0.71234 ± 0.0041" for each point (no ± where the row has no error)."""
    symbol = _QUANTITIES[points.key].symbol
    return [f"{symbol} = {v:.5g} ± {e:.2g}" if math.isfinite(e) else f"{symbol} = {v:.5g}"
            for v, e in zip(points.value, points.error, strict=True)]
