"""Per-session state of the Models page: open a model file, validate it, and describe what is inside.

``ModelsSession`` holds everything the page shows as plain data: the catalogue of models to choose from (bundled
models and the user's saved ones, ``rbm_explorer.catalog``), the summary tables of the open model (unit kinds,
shapes, constraint, released units, dataset, training, metrics, provenance) as lists of text rows, and the
weight vectors of its hidden units tiled as one picture (PAPERS.md section 1: the released units' weights carry
the label, the constrained ones are orthogonal to it). Views render these parameters and compute nothing.

Uploaded bytes are never unpickled: they are written to a private temporary file and read by ``load_model``
(``allow_pickle=False``, every problem a ``ModelFileError``); only a file that loads is saved, atomically, into
``user_models_dir()`` where the other pages find it. Every action is guarded: a failure sets ``error`` and
leaves the model on screen as it was.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import param

from rbm_explorer.pictures import tile_chains
from rbm_explorer.catalog import entry_for, families, user_models_dir
from rbm_explorer.io import ModelFile, atomic_write, load_model
from rbm_explorer.resources import assets_dir

DEFAULT_MODEL = "mnist01_linear_released1"
# Uploads travel base64-encoded over the session's websocket, which Bokeh closes on messages over 20 MiB (ending the
# session): 14 MiB of file is 18.7 MiB of message. Bundled models are under 8 MB; bigger files can be copied into
# user_models_dir() instead. The page refuses bigger files in the browser, before they are read.
DEFAULT_MAX_UPLOAD_BYTES = 14 << 20
MOSAIC_COLUMNS = 8
SCALES = ("per unit", "shared")
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
COVERED_KEYS = {"format", "format_version", "visible_kind", "hidden_kind", "q", "image_shape", "released_units",
                "released_classes", "constraint", "dataset", "training", "history", "provenance", "metrics",
                "description"}


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


def _units_table(model: ModelFile) -> dict:
    rbm = model.rbm
    v, h = rbm.visible, rbm.hidden
    shape = model.image_shape
    visible_size = f"{v.n_units:,}"
    visible_kind = v.describe() + \
        (f", {' × '.join(map(str, shape))} image" if shape else "")
    w = rbm.weights
    rows = [
        ["visible", visible_kind, visible_size, f"visible_fields {' × '.join(map(str, v.fields.shape))}"],
        ["hidden", h.kind, f"{h.n_units:,}", f"hidden_fields {h.n_units}"],
        ["weights W", "couplings", " × ".join(map(str, w.shape)),
         f"mean {w.mean():.3g}, std {w.std():.3g}, max |w| {np.abs(w).max():.3g}"],
    ]
    if rbm.label is not None:
        rows.append(["label", "categorical", f"{rbm.label.n_classes} classes",
                     f"label_weights {' × '.join(map(str, rbm.label_weights.shape))}"])
    if model.extra_arrays:
        arrays = ", ".join(f"{name} ({' × '.join(map(str, a.shape))})" for name, a in model.extra_arrays.items())
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


def _released_table(model: ModelFile, norms: np.ndarray) -> dict:
    units, classes = released_of(model)
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


def summarize(model: ModelFile) -> dict[str, dict]:
    """Every summary table of ``model``: title -> {"columns", "rows" (text), "note"}. Tables without rows carry
    a note instead; the Markdown views render them as they are."""
    meta = model.metadata
    norms = weight_norms(model)
    dataset = _section(meta, "dataset")
    dataset_rows = _key_values(dataset)
    if meta.get("binarize_threshold") is not None and "threshold" not in dataset:
        dataset_rows.append(["binarize threshold", format_value(meta["binarize_threshold"])])
    provenance = _section(meta, "provenance")
    other = {k: v for k, v in meta.items() if k not in COVERED_KEYS and k != "binarize_threshold"}
    tables = {"Units and shapes": _units_table(model)}
    tables.update(_constraint_tables(model))
    tables["Released units"] = _released_table(model, norms)
    tables["Dataset"] = _table(["", ""], dataset_rows, "" if dataset_rows else "No dataset recorded.")
    tables["Training"] = _training_table(meta)
    tables["Metrics"] = _metrics_table(meta)
    tables["Provenance"] = _table(["", ""], _key_values(provenance), "" if provenance else "No provenance recorded.")
    if other:
        tables["Other metadata"] = _table(["", ""], _key_values(other))
    return tables


# --- the weight pictures ------------------------------------------------------------------------------------
def mosaic_order(model: ModelFile, max_units: int) -> list[int]:
    """Hidden units to draw: the released ones first, in metadata order, then the others by decreasing |w_μ|."""
    released, _ = released_of(model)
    norms = weight_norms(model)
    rest = [int(u) for u in np.argsort(-norms, kind="stable") if int(u) not in set(released)]
    return (released + rest)[:max_units]


def weight_mosaic(model: ModelFile, max_units: int = 48, scale: str = "per unit",
                  columns: int = MOSAIC_COLUMNS) -> dict:
    """The weight columns ``W[:, μ]`` of up to ``max_units`` hidden units as pictures of ``image_shape``.

    Returns ``mosaic`` (float32 grid, NaN gaps; row 0 at the top), ``units`` (unit of each tile in reading
    order), ``columns``, ``clim`` (symmetric colour limit) and ``tiles`` (one dict per tile: unit, role,
    norm and its box ``x0, y0, x1, y1`` in mosaic pixels with the origin at the bottom left, as plotted).
    With ``scale="per unit"`` each picture is divided by its own largest |w| so that weak units stay visible.
    Raises ValueError when the visible layer is not a picture."""
    shape = model.image_shape
    w = model.rbm.weight_matrix
    if not shape or len(shape) != 2:
        raise ValueError("the model has no 2-d 'image_shape' in its metadata: its weights are not pictures")
    if shape[0] * shape[1] != w.shape[0]:
        raise ValueError(f"weights have {w.shape[0]} visible features, not an image of {shape[0]} × {shape[1]} "
                         f"(Potts visibles have q features per site)")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    units = mosaic_order(model, max(1, int(max_units)))
    released = set(released_of(model)[0])
    norms = weight_norms(model)
    pictures = w[:, units].T.astype(np.float64)
    if scale == "per unit":
        peak = np.abs(pictures).max(axis=1, keepdims=True)
        pictures = pictures / np.where(peak > 0, peak, 1.0)
        clim = 1.0
    else:
        clim = float(np.abs(pictures).max()) or 1.0
    columns = max(1, min(int(columns), len(units)))
    mosaic = tile_chains(pictures.astype(np.float32), tuple(shape), columns)
    h, wd = shape
    tiles = []
    for k, unit in enumerate(units):
        r, c = divmod(k, columns)
        x0, top = c * (wd + 1), r * (h + 1)
        y0 = mosaic.shape[0] - top - h  # plotted with the origin at the bottom left
        tiles.append({"x0": x0, "y0": y0, "x1": x0 + wd, "y1": y0 + h, "unit": int(unit),
                      "role": "released" if unit in released else "constrained or free",
                      "norm": float(norms[unit])})
    return {"mosaic": mosaic, "units": units, "columns": columns, "clim": clim, "tiles": tiles}


# --- the session ----------------------------------------------------------------------------------------------
def catalogue_choices(entries=None) -> dict[str, str]:
    """Select options: readable label -> file path, bundled models first in family order, then the user's."""
    choices = {}
    for title, variants in families(entries).items():
        for variant, entry in variants.items():
            label = f"{title} · {variant}" if entry.bundled else f"{title} · {entry.variant} · {entry.name} (yours)"
            choices[label] = str(entry.path)
    return dict(sorted(choices.items(), key=lambda item: " (yours)" in item[0]))


def base_name(filename) -> str:
    """The last part of a file name as a browser or a user may give it (either kind of slash)."""
    return re.split(r"[\\/]", str(filename or ""))[-1]


def safe_stem(filename: str) -> str:
    """A file name stem that is safe in ``user_models_dir()``: letters, digits, '-', '_' and '.' only."""
    stem = base_name(filename)
    stem = stem[:-4] if stem.lower().endswith(".npz") else stem
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")[:80]
    return stem or "uploaded_model"


class ModelsSession(param.Parameterized):
    """The model on the Models page: which file, its summary tables and its weight pictures."""

    choice = param.Selector(objects={}, doc="Open a bundled model or one you saved (your models end in '(yours)')")
    max_units = param.Integer(default=48, bounds=(4, 96), doc="How many hidden units' weights to draw: released "
                              "units first, then the others by decreasing norm")
    scale = param.Selector(objects=list(SCALES), default="per unit", doc="Colour scale of the weight pictures: each "
                           "unit to its own largest |w| (faint units stay visible), or one scale shared by all units")

    # published; views read these
    model_path = param.String(default="", doc="File of the model on screen")
    title = param.String(default="", doc="Family and variant of the model on screen")
    source = param.String(default="", doc="bundled, saved by you, or uploaded")
    description = param.String(default="")
    summary = param.Dict(default={}, doc="Summary tables: title -> columns, rows, note")
    metadata = param.Dict(default={}, doc="The model's metadata, trimmed for display")
    mosaic = param.Array(default=None, doc="Weight pictures tiled with NaN gaps (None: not an image model)")
    mosaic_info = param.Dict(default={}, doc="units, columns, clim, tiles, n_hidden, n_released of the mosaic")
    mosaic_note = param.String(default="", doc="Why there are no weight pictures")
    error = param.String(default="", doc="The last problem, shown in the page")
    notice = param.String(default="", doc="The last success worth telling (a saved upload)")
    opened_path = param.String(default="", doc="Path of the model the user opened last (shared with other pages)")

    def __init__(self, initial: str | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, **params):
        super().__init__(**params)
        self.max_upload_bytes = int(max_upload_bytes)
        self.model: ModelFile | None = None
        self._refresh_choices()
        if not self.param.choice.objects:
            raise ValueError("no models to show: the bundled models folder is empty")
        paths = list(self.param.choice.objects.values())
        default = next((p for p in paths if Path(p).stem == DEFAULT_MODEL), paths[0])
        if initial:
            self._guard(self._open, initial, announce=False)
        if self.model is None:
            problem = self.error
            self._open(default, announce=False)
            if problem:
                self.error = f"Could not open {initial}: {problem}"

    # --- actions ------------------------------------------------------------------------------------------
    def _guard(self, action, *args, **kwargs):
        """Run a user action; a failure is shown in the page and leaves the model on screen unchanged."""
        try:
            return action(*args, **kwargs)
        except Exception as exc:
            self.param.update(error=str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}",
                              notice="")
            return None

    def _refresh_choices(self) -> None:
        choices = catalogue_choices()
        if self.model_path and self.model_path not in choices.values():
            choices[f"{Path(self.model_path).stem} (opened file)"] = self.model_path
        self.param.choice.objects = choices

    def refresh(self) -> None:
        """Re-read the catalogue (models saved since, e.g. by the Train page)."""
        self._guard(self._refresh_choices)

    @param.depends("choice", watch=True)
    def _on_choice(self):
        if self.choice and self.choice != self.model_path:
            if self._guard(self._open, self.choice) is None:
                self.choice = self.model_path  # back to the model on screen

    @param.depends("max_units", "scale", watch=True)
    def _on_mosaic_options(self):
        self._guard(self._publish_mosaic)

    def open(self, path) -> None:
        """Open a model file (guarded: a bad file sets ``error``)."""
        self._guard(self._open, path)

    def _open(self, path, announce: bool = True, notice: str = "", source: str | None = None) -> bool:
        """Load, describe and publish ``path``. Everything is computed before anything is published, so a
        failure at any step leaves the model on screen as it was."""
        path = Path(path)
        entry = entry_for(path)  # validates the file (ModelFileError names the problem); cached per mtime
        model = entry.load()
        bundled = path.resolve().parent == (assets_dir() / "models").resolve()
        published = dict(
            model_path=str(path),
            title=f"{entry.family_title} · {entry.variant}",
            source=source or ("bundled model" if bundled else
                              "saved by you" if path.parent == user_models_dir() else "opened file"),
            description=format_value(model.metadata.get("description") or "", 400),
            summary=summarize(model),
            metadata=trimmed(model.metadata),
            **self._mosaic_params(model),
        )
        self.model = model
        self.param.update(error="", notice=notice, **published)
        if str(path) not in self.param.choice.objects.values():
            self._refresh_choices()
        self.choice = str(path)  # the select shows the file; _on_choice sees it is open already
        if announce:
            self.opened_path = str(path)
        return True

    def _mosaic_params(self, model: ModelFile) -> dict:
        """``mosaic``, ``mosaic_info`` and ``mosaic_note`` of ``model`` with the current drawing options."""
        info = {"n_hidden": model.rbm.n_hidden, "n_released": len(released_of(model)[0]), "scale": self.scale}
        try:
            tiles = weight_mosaic(model, self.max_units, self.scale)
        except ValueError as exc:  # not an image model: a note instead of pictures
            return {"mosaic": None, "mosaic_info": info, "mosaic_note": str(exc)}
        mosaic = tiles.pop("mosaic")
        info.update(tiles)
        return {"mosaic": mosaic, "mosaic_info": info, "mosaic_note": ""}

    def _publish_mosaic(self) -> None:
        self.param.update(**self._mosaic_params(self.model))

    # --- uploads ----------------------------------------------------------------------------------------------
    def upload(self, data: bytes | None, filename: str | None) -> bool:
        """Validate uploaded bytes; a valid model is saved into ``user_models_dir()`` and opened.
        Returns True on success; on failure ``error`` names the problem and the model on screen stays."""
        return bool(self._guard(self._upload, data, filename))

    def _upload(self, data, filename) -> bool:
        name = base_name(filename) or "upload.npz"
        if not data:
            raise ValueError(f"Upload {name!r} is empty.")
        if len(data) > self.max_upload_bytes:
            raise ValueError(self._too_big(name, len(data)))
        stem = safe_stem(name)
        with tempfile.TemporaryDirectory(prefix="rbm_explorer_upload_") as folder:
            candidate = Path(folder) / f"{stem}.npz"
            with atomic_write(candidate) as handle:
                handle.write(data)
            try:
                load_model(candidate, max_bytes=self.max_upload_bytes)
            except ValueError as exc:
                problem = str(exc).replace(str(candidate), "").lstrip(": ")
                raise ValueError(f"Upload {name!r} is not a valid model file: {problem}") from None
        target = self._save_target(stem, data)
        if not target.exists():
            try:
                with atomic_write(target) as handle:
                    handle.write(data)
            except OSError as exc:
                raise ValueError(f"Upload {name!r} is valid but could not be saved in {target.parent}: {exc}") from None
        self._refresh_choices()
        return self._open(target, notice=f"Saved {name} as {target}: the other pages can open it now.",
                          source="uploaded, saved by you")

    def _too_big(self, name: str, size: int) -> str:
        return (f"Upload {name!r} is {size:,} bytes, over the limit of {self.max_upload_bytes:,} bytes for uploads "
                f"through the browser. Copy the file into {self.save_folder} and press 'Refresh list' instead.")

    def refuse_upload(self, filename: str, size: int) -> None:
        """The browser refused a file over ``max_upload_bytes`` before sending it: say so."""
        self.param.update(error=self._too_big(base_name(filename) or "upload", int(size)), notice="")

    def _save_target(self, stem: str, data: bytes) -> Path:
        """``<stem>.npz`` in the user's models folder; an existing file with other content gets a suffix
        (the same content is reused rather than saved twice)."""
        folder = user_models_dir(create=True)
        digest = hashlib.sha256(data).hexdigest()
        for k in range(1, 1000):
            target = folder / (f"{stem}.npz" if k == 1 else f"{stem}-{k}.npz")
            if not target.exists():
                return target
            try:
                if target.stat().st_size == len(data) and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                    return target
            except OSError:
                continue
        raise ValueError(f"too many saved models named {stem}*.npz in {folder}")

    @property
    def save_folder(self) -> str:
        """Where valid uploads are saved."""
        return str(user_models_dir())
