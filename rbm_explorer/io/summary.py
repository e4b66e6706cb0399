"""The summary of a model file as data: what ``rbm-explorer info`` prints and the Models page shows.

``summarize(model)`` returns a ``ModelSummary``: the model's one-line description, weight statistics, the norms
|w_μ| of the hidden units' weight vectors, its released units and the classes they generate, and its summary
tables (unit kinds and shapes, constraint layout and groups, released units, dataset, training record, metrics,
provenance, other metadata), each a dict of ``columns``, text ``rows`` and a ``note`` that stands in for an empty
table. The tables render as aligned plain text (``ModelSummary.text``, the CLI) or as Markdown
(``markdown_table``, the page). In a constrained RBM (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023) the
released units' weights carry the label and the constrained ones are kept orthogonal to it (Eqs. 6-7); the
released-units table compares their norms with the others'.

Metadata beyond the keys the file format requires is free-form: every value is checked for its type before it
is read, and unknown keys are listed under "Other metadata".
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

import numpy as np

from rbm_explorer.io.model_file import ModelFile, reserved_metadata_keys

LIST_PREVIEW = 8

METRICS = {  # key -> (label, meaning); the keys rbm_explorer.training.recipes.label_metrics writes
    "test_samples": ("test samples", "held-out samples the metrics are measured on"),
    "max_abs_rho_constrained": ("max |ρ_μ|, constrained units",
                                "largest label correlation of a constrained unit's input (Eq. 5)"),
    "rho_noise_bound": ("noise scale of |ρ|", "4/√n: a smaller max |ρ_μ| means no detectable linear label information"),
    "released_auc": ("released units' AUC", "ROC AUC of each released unit's input as a predictor of the label"),
    "constraint_violation": ("constraint violation", "what is left of constrained weights along forbidden directions"),
    "quadratic_residual": ("quadratic residual", "‖W_cᵀ q⁽²⁾ W_c‖_F relative to ‖q⁽²⁾‖ ‖W_c‖² (Eq. 9)"),
}
DESCRIBED_KEYS = frozenset({"image_shape", "released_units", "released_classes", "constraint", "dataset", "training",
                           "history", "provenance", "metrics", "description", "binarize_threshold"})
"""Metadata keys the tables below describe; with the reserved keys of the format they are not repeated under
"Other metadata"."""


# --- formatting of metadata values as short text --------------------------------------------------------------
def unit_ranges(units) -> str:
    """Hidden unit indices as compact ranges: [0, 2, 3, 4, 9] -> '0, 2–4, 9'."""
    values = sorted({int(u) for u in units})
    parts, start = [], None
    for k, u in enumerate(values):
        if start is None:
            start = u
        if k + 1 == len(values) or values[k + 1] != u + 1:
            parts.append(str(start) if start == u else f"{start}–{u}")
            start = None
    return ", ".join(parts)


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def format_value(value, limit: int = 160) -> str:
    """A metadata value as one short line of text: numbers to 4 significant digits, long lists shortened."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_int(value):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        if all(_is_int(v) for v in value) and len(value) > LIST_PREVIEW:
            return f"{unit_ranges(value)} ({len(value)} values)"
        shown = ", ".join(format_value(v, limit) for v in value[:LIST_PREVIEW])
        text = shown + (f", … ({len(value)} values)" if len(value) > LIST_PREVIEW else "")
    elif isinstance(value, dict):
        text = "; ".join(f"{k} = {format_value(v, limit)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_cell(text) -> str:
    """Text safe inside a Markdown table cell: no HTML, no cell breaks, no accidental emphasis."""
    text = html.escape(str(text).replace("\n", " ").replace("\r", " "), quote=False)
    text = text.replace(" × ", "\u00a0×\u00a0").replace("–", "\u2060–\u2060")  # keep shapes and ranges whole
    return re.sub(r"([\\`*_\[\]#~|])", r"\\\1", text)


def _table(columns, rows, note: str = "") -> dict:
    return {"columns": list(columns), "rows": [[str(c) for c in row] for row in rows], "note": note}


def _section(meta: dict, key: str) -> dict:
    """``meta[key]`` when it is a JSON object, else an empty dict (metadata beyond the required keys is free-form)."""
    value = meta.get(key)
    return value if isinstance(value, dict) else {}


def _key_values(items: dict, skip=(), max_rows: int = 40) -> list[list[str]]:
    keys = [k for k in items if k not in skip]
    rows = [[str(k).replace("_", " "), format_value(items[k])] for k in keys[:max_rows]]
    if len(keys) > max_rows:
        rows.append(["…", f"{len(keys) - max_rows} more keys (see the raw metadata)"])
    return rows


def trimmed(value, max_items: int = 24, depth: int = 0):
    """A copy of JSON metadata small enough to send to a browser: long lists cut, deep nesting summarised."""
    if depth > 6:
        return "…"
    if isinstance(value, dict):
        return {str(k): trimmed(v, max_items, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list):
        head = [trimmed(v, max_items, depth + 1) for v in value[:max_items]]
        return head + ([f"… {len(value) - max_items} more"] if len(value) > max_items else [])
    if isinstance(value, str) and len(value) > 500:
        return value[:500] + "…"
    return value


# --- the summary of one model -------------------------------------------------------------------------------
def weight_norms(model: ModelFile) -> np.ndarray:
    """|w_μ|: the Euclidean norm of each hidden unit's weight vector (over all visible features)."""
    return np.linalg.norm(model.rbm.weight_matrix, axis=0)


def released_of(model: ModelFile) -> tuple[list[int], list]:
    """Released units (valid indices only) and the class each one generates (None where not recorded)."""
    meta = model.metadata
    units = meta.get("released_units") or []
    classes = meta.get("released_classes") or []
    pairs = [(int(u), classes[k] if k < len(classes) else None) for k, u in enumerate(units)
             if _is_int(u) and 0 <= int(u) < model.rbm.n_hidden]
    return [u for u, _ in pairs], [c for _, c in pairs]


@dataclass(frozen=True)
class WeightStats:
    """Shape and spread of the coupling array W (N x M, or N x q x M for Potts visibles)."""

    shape: tuple[int, ...]
    mean: float
    std: float
    max_abs: float

    @classmethod
    def of(cls, weights: np.ndarray) -> "WeightStats":
        return cls(tuple(weights.shape), float(weights.mean()), float(weights.std()), float(np.abs(weights).max()))

    def describe(self, digits: int = 3) -> str:
        return f"mean {self.mean:.{digits}g}, std {self.std:.{digits}g}, max |w| {self.max_abs:.{digits}g}"


def _shape_text(shape) -> str:
    return " × ".join(map(str, shape))


def _units_table(model: ModelFile, weights: WeightStats) -> dict:
    rbm = model.rbm
    v, h = rbm.visible, rbm.hidden
    shape = model.image_shape
    visible_kind = v.describe() + (f", {_shape_text(shape)} image" if shape else "")
    rows = [
        ["visible", visible_kind, f"{v.n_units:,}", f"visible_fields {_shape_text(v.fields.shape)}"],
        ["hidden", h.kind, f"{h.n_units:,}", f"hidden_fields {h.n_units}"],
        ["weights W", "couplings", _shape_text(weights.shape), weights.describe()],
    ]
    if rbm.label is not None:
        rows.append(["label", "categorical", f"{rbm.label.n_classes} classes",
                     f"label_weights {_shape_text(rbm.label_weights.shape)}"])
    if model.extra_arrays:
        arrays = ", ".join(f"{name} ({_shape_text(a.shape)})" for name, a in model.extra_arrays.items())
        rows.append(["extra arrays", "stored beside the model", str(len(model.extra_arrays)),
                     format_value(arrays, 300)])
    return _table(["part", "kind", "size", "arrays"], rows)


def _constraint_tables(model: ModelFile) -> dict[str, dict]:
    constraint = model.metadata.get("constraint")
    if not isinstance(constraint, dict):
        return {"Constraint": _table(["", ""], [], "No constraint recorded: every hidden unit was trained freely.")}
    m = model.rbm.n_hidden
    units = constraint.get("units") or []
    valid = [u for u in units if _is_int(u)] if isinstance(units, list) else []
    rows = [["kind", format_value(constraint.get("kind", "none"))]]
    if valid:
        rows.append(["constrained units", f"{unit_ranges(valid)} ({len(set(valid))} of {m})"])
        rows.append(["free units", unit_ranges(set(range(m)) - set(valid)) or "none"])
    rows += _key_values({k: v for k, v in constraint.items() if v is not None}, skip=("kind", "units", "spec"))
    tables = {"Constraint": _table(["", ""], rows)}
    groups = _section(constraint, "spec").get("constraints")
    if isinstance(groups, list) and groups:
        group_rows = []
        for k, g in enumerate(groups):
            if not isinstance(g, dict):
                continue
            g_units = g.get("units") if isinstance(g.get("units"), list) else []
            if g.get("type") == "quadratic":
                what = f"q⁽²⁾ penalty, rank {format_value(g.get('rank')) if g.get('rank') else 'full'}"
            else:
                what = f"{format_value(g.get('n_vectors', '?'))} vector(s), rank {format_value(g.get('rank', '?'))}"
            group_rows.append([format_value(g.get("name") or f"group {k}"), format_value(g.get("type", "?")),
                               unit_ranges([u for u in g_units if _is_int(u)]) or "—", what,
                               format_value(g.get("strength")) if "strength" in g else "hard projection"])
        tables["Constraint groups"] = _table(["group", "type", "units", "forbidden directions", "strength"],
                                             group_rows)
    return tables


def _class_name(model: ModelFile, cls) -> str:
    if cls is None:
        return "not recorded"
    names = _section(model.metadata, "dataset").get("label_names")
    if _is_int(cls) and isinstance(names, list) and 0 <= int(cls) < len(names):
        name = str(names[int(cls)])
        return f"class {name}" if name == str(int(cls)) else f"{name} (class {int(cls)})"
    return f"class {format_value(cls)}"


def _released_table(model: ModelFile, norms: np.ndarray, units: list[int], classes: list) -> dict:
    if not units:
        return _table([], [], "No released units: every hidden unit is treated alike.")
    others = np.delete(norms, units)
    typical = float(np.median(others)) if others.size else float("nan")
    aucs = _section(model.metadata, "metrics").get("released_auc")
    rows = []
    for k, (u, cls) in enumerate(zip(units, classes)):
        auc = aucs[k] if isinstance(aucs, list) and k < len(aucs) else None
        ratio = norms[u] / typical if typical > 0 else float("nan")
        rows.append([str(u), _class_name(model, cls), f"{norms[u]:.3g}",
                     "—" if math.isnan(ratio) else f"{ratio:.2f}×", format_value(auc)])
    return _table(["unit", "on generates", "|w_μ|", "vs median other unit", "label AUC"], rows)


def _training_table(meta: dict) -> dict:
    training = _section(meta, "training")
    config = _section(training, "config")
    rows = _key_values(config)
    rows += _key_values(training, skip=("config", "hidden_kind"))
    history = _section(meta, "history")
    epochs = history.get("epochs") if isinstance(history.get("epochs"), list) else []
    records = [e for e in epochs if isinstance(e, dict)]
    if records:
        rows.append(["epochs recorded", str(len(records))])
        last = records[-1].get("reconstruction_error")
        if isinstance(last, (int, float)):
            rows.append(["final reconstruction error", f"{last:.4g}"])
        seconds = [e.get("seconds") for e in records if isinstance(e.get("seconds"), (int, float))]
        if seconds:
            rows.append(["training time", f"{sum(seconds):.3g} s"])
    return _table(["", ""], rows, "" if rows else "No training record: the model was built by hand or imported.")


def _metrics_table(meta: dict) -> dict:
    metrics = _section(meta, "metrics")
    rows = [[*METRICS.get(k, (k.replace("_", " "), ""))[:1], format_value(v), METRICS.get(k, ("", ""))[1]]
            for k, v in metrics.items()]
    return _table(["metric", "value", "meaning"], rows, "" if rows else "No metrics recorded.")


@dataclass(frozen=True)
class ModelSummary:
    """What a model file holds, as data: ``model`` is the RBM's one-line description (its repr), ``description``
    the file's own (shortened), ``weights`` the statistics of W, ``norms`` |w_μ| of each hidden unit,
    ``released_units`` with the class each generates (``released_classes``, None where not recorded), and
    ``tables``: title -> {"columns", "rows" (text), "note"}, JSON-compatible. Tables without rows carry a note
    instead; key/value tables have empty column titles."""

    model: str
    description: str
    weights: WeightStats
    norms: np.ndarray
    released_units: list[int]
    released_classes: list
    tables: dict[str, dict]

    def text(self, heading: str = "") -> str:
        """The summary as aligned plain text for a terminal: ``heading`` (e.g. the file), the RBM, its
        description, then each table under its title."""
        lines = [heading] if heading else []
        lines.append(f"  {self.model}")
        if self.description:
            lines.append(f"  {self.description}")
        for title, table in self.tables.items():
            lines += ["", title, *text_table(table, indent="  ")]
        return "\n".join(lines)


def text_table(table: dict, indent: str = "") -> list[str]:
    """A summary table as lines of plain text: columns padded to their widest cell, a header line when the
    table has column titles, its note when it has no rows."""
    rows = table.get("rows") or []
    if not rows:
        return [indent + table.get("note", "")] if table.get("note") else []
    columns = table.get("columns") or []
    body = ([list(columns)] if any(columns) else []) + [list(map(str, row)) for row in rows]
    widths = [max(len(row[k]) for row in body if k < len(row)) for k in range(max(map(len, body)))]
    return [(indent + "  ".join(cell.ljust(widths[k]) for k, cell in enumerate(row))).rstrip() for row in body]


def markdown_table(table: dict) -> str:
    """A summary table as Markdown, every cell escaped (``md_cell``); key/value tables have no header text and
    their keys in bold; the note, in italics, follows."""
    lines = []
    rows = table.get("rows") or []
    key_value = not any(table.get("columns") or [])
    if rows:
        columns = ["", ""] if key_value else table["columns"]
        lines.append("| " + " | ".join(md_cell(c) or " " for c in columns) + " |")
        lines.append("|" + "---|" * len(columns))
        for row in rows:
            cells = [md_cell(c) for c in row]
            if key_value and cells[0]:
                cells[0] = f"**{cells[0]}**"
            lines.append("| " + " | ".join(cells) + " |")
    if table.get("note"):
        lines.append("\n*" + md_cell(table["note"]) + "*")
    return "\n".join(lines)


def summarize(model: ModelFile) -> ModelSummary:
    """The ``ModelSummary`` of ``model``: its statistics and every summary table, computed once."""
    meta = model.metadata
    norms = weight_norms(model)
    weights = WeightStats.of(model.rbm.weights)
    released, classes = released_of(model)
    dataset = _section(meta, "dataset")
    dataset_rows = _key_values(dataset)
    if meta.get("binarize_threshold") is not None and "threshold" not in dataset:
        dataset_rows.append(["binarize threshold", format_value(meta["binarize_threshold"])])
    provenance = _section(meta, "provenance")
    described = reserved_metadata_keys() | DESCRIBED_KEYS
    other = {k: v for k, v in meta.items() if k not in described}
    tables = {"Units and shapes": _units_table(model, weights)}
    tables.update(_constraint_tables(model))
    tables["Released units"] = _released_table(model, norms, released, classes)
    tables["Dataset"] = _table(["", ""], dataset_rows, "" if dataset_rows else "No dataset recorded.")
    tables["Training"] = _training_table(meta)
    tables["Metrics"] = _metrics_table(meta)
    tables["Provenance"] = _table(["", ""], _key_values(provenance), "" if provenance else "No provenance recorded.")
    if other:
        tables["Other metadata"] = _table(["", ""], _key_values(other))
    return ModelSummary(repr(model.rbm), format_value(meta.get("description") or "", 400), weights, norms,
                        released, classes, tables)
