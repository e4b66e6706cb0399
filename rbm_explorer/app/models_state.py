"""Per-session state of the Models page: open a model file, validate it, and describe what is inside.

``ModelsSession`` holds everything the page shows as plain data: the catalogue of models to choose from
(bundled models, the session owner's saved ones and the shared ones, ``rbm_explorer.catalog``), the summary
tables of the open model (``rbm_explorer.io.summary``, the same as ``rbm-explorer info`` prints) and the weight
vectors of its hidden units tiled as one picture (``rbm_explorer.pictures.weight_mosaic``). In the constrained RBMs of
Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023) the released units' weights carry the label and the
constrained ones are kept orthogonal to it (Eqs. 6-7), so the released units are drawn first. Views render these
parameters and compute nothing; the published parameters are read-only (``constant``) outside this class.

Uploaded bytes are never unpickled: they are written to a private temporary file and read by ``load_model``
(``allow_pickle=False``, every problem a ``ModelFileError``); only a file that loads is saved, atomically, into
the owner's ``user_models_dir`` (named by ``catalog.upload_target``, never over another file and never in a shared
folder) where the other pages of that owner find it. Every action is guarded: a failure sets ``error`` and
leaves the model on screen as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import param

from rbm_explorer.app.session_state import SessionState
from rbm_explorer.catalog import (CURRENT, base_name, entry_for, families, origin_of, resolve_owner, upload_target,
                                  user_models_dir)
from rbm_explorer.io import ModelFile, atomic_write, load_model
from rbm_explorer.io.summary import released_of, summarize, trimmed
from rbm_explorer.pictures import WEIGHT_SCALES, weight_mosaic

DEFAULT_MODEL = "mnist01_linear_released1"
# Uploads travel base64-encoded over the session's websocket, which Bokeh closes on messages over 20 MiB (ending the
# session): 14 MiB of file is 18.7 MiB of message. Bundled models are under 8 MB; bigger files can be copied into
# the user's models folder instead. The page refuses bigger files in the browser, before they are read.
DEFAULT_MAX_UPLOAD_BYTES = 14 << 20


ORIGIN_TAGS = {"own": " (yours)", "shared": " (shared)"}
SOURCES = {"bundled": "bundled model", "own": "saved by you", "shared": "shared (read-only)"}


def catalogue_choices(entries=None, owner=CURRENT) -> dict[str, str]:
    """Select options: readable label -> file path; bundled models first in family order, then the owner's
    (their labels end in '(yours)'), then the shared ones ('(shared)')."""
    choices, rank = {}, {}
    for title, variants in families(entries, owner=owner).items():
        for variant, entry in variants.items():
            tag = ORIGIN_TAGS.get(entry.origin)
            label = f"{title} · {variant}" if tag is None else f"{title} · {entry.variant} · {entry.name}{tag}"
            choices[label] = str(entry.path)
            rank[label] = ("bundled", "own", "shared").index(entry.origin)
    return dict(sorted(choices.items(), key=lambda item: rank[item[0]]))


class ModelsSession(SessionState):
    """The model on the Models page: which file, its summary tables and its weight pictures.

    ``choice``, ``max_units`` and ``scale`` are the user's; every other parameter is published by this class
    (read-only elsewhere) and changes only through ``open``, ``upload``, ``refuse_upload`` and ``refresh``."""

    choice = param.Selector(objects={}, doc="Open a bundled model, one you saved (ending in '(yours)') or one shared "
                          "with everyone (ending in '(shared)')")
    max_units = param.Integer(default=48, bounds=(4, 96), doc="How many hidden units' weights to draw: released "
                              "units first, then the others by decreasing norm")
    scale = param.Selector(objects=list(WEIGHT_SCALES), default="per unit", doc="Colour scale of the weight "
                           "pictures: each unit to its own largest |w| (faint units stay visible), or one scale "
                           "shared by all units")

    # published (read-only outside this class); views read these
    model_path = param.String(default="", constant=True, doc="File of the model on screen")
    title = param.String(default="", constant=True, doc="Family and variant of the model on screen")
    source = param.String(default="", constant=True, doc="bundled, saved by you, shared (read-only) or uploaded")
    description = param.String(default="", constant=True, doc="The model file's own description, shortened")
    summary = param.Dict(default={}, constant=True, doc="Summary tables: title -> columns, rows, note")
    metadata = param.Dict(default={}, constant=True, doc="The model's metadata, trimmed for display")
    mosaic = param.Array(default=None, constant=True,
                         doc="Weight pictures tiled with NaN gaps (None: not an image model)")
    mosaic_info = param.Dict(default={}, constant=True,
                             doc="units, columns, clim, tiles, n_hidden, n_released of the mosaic")
    mosaic_note = param.String(default="", constant=True, doc="Why there are no weight pictures")
    notice = param.String(default="", constant=True, doc="The last success worth telling (a saved upload)")
    opened_path = param.String(default="", constant=True,
                               doc="Path of the model the user opened last (shared with other pages)")

    def __init__(self, initial: str | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, owner=CURRENT,
                 **params):
        super().__init__(**params)
        # whose uploads these are: fixed here, since later actions run outside the page build's catalog.owned_by
        self.owner = resolve_owner(owner)
        self.max_upload_bytes = int(max_upload_bytes)
        self.model: ModelFile | None = None
        self._refresh_choices()
        if not self.param.choice.objects:
            raise ValueError("no models to show: the bundled models folder is empty")
        paths = list(self.param.choice.objects.values())
        default = next((p for p in paths if Path(p).stem == DEFAULT_MODEL), paths[0])
        if initial:
            self.run_action(self._open, initial, announce=False)
        if self.model is None:
            problem = self.error
            self._open(default, announce=False)
            if problem:
                self.publish(error=f"Could not open {initial}: {problem}")

    # --- actions ------------------------------------------------------------------------------------------
    clears_error_on_success = False  # opening a model publishes its own error and notice

    def failure_resets(self) -> dict:
        """A failed action leaves the model on screen and drops the last success notice."""
        return {"notice": ""}

    def _refresh_choices(self) -> None:
        choices = catalogue_choices(owner=self.owner)
        if self.model_path and self.model_path not in choices.values():
            choices[f"{Path(self.model_path).stem} (opened file)"] = self.model_path
        self.param.choice.objects = choices

    def refresh(self) -> None:
        """Re-read the catalogue (models saved since, e.g. by the Train page)."""
        self.run_action(self._refresh_choices)

    @param.depends("choice", watch=True)
    def _on_choice(self):
        if self.choice and self.choice != self.model_path:
            if self.run_action(self._open, self.choice) is None:
                self.choice = self.model_path  # back to the model on screen

    @param.depends("max_units", "scale", watch=True)
    def _on_mosaic_options(self):
        self.run_action(self._publish_mosaic)

    def open(self, path) -> None:
        """Open a model file (guarded: a bad file sets ``error``)."""
        self.run_action(self._open, path)

    def _open(self, path, announce: bool = True, notice: str = "", source: str | None = None) -> bool:
        """Load, describe and publish ``path``. Everything is computed before anything is published, so a
        failure at any step leaves the model on screen as it was."""
        path = Path(path)
        entry = entry_for(path)  # validates the file (ModelFileError names the problem); cached per mtime
        model = entry.load()
        summary = summarize(model)
        origin = origin_of(path, self.owner)
        published = dict(
            model_path=str(path),
            title=f"{entry.family_title} · {entry.variant}",
            source=source or SOURCES.get(origin, "opened file"),
            description=summary.description,
            summary=summary.tables,
            metadata=trimmed(model.metadata),
            **self._mosaic_params(model),
        )
        self.model = model
        self.publish(error="", notice=notice, **published)
        if str(path) not in self.param.choice.objects.values():
            self._refresh_choices()
        self.choice = str(path)  # the select shows the file; _on_choice sees it is open already
        if announce:
            self.publish(opened_path=str(path))
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
        self.publish(**self._mosaic_params(self.model))

    # --- uploads ----------------------------------------------------------------------------------------------
    def upload(self, data: bytes | None, filename: str | None) -> bool:
        """Validate uploaded bytes; a valid model is saved into the owner's ``user_models_dir`` and opened.
        Returns True on success; on failure ``error`` names the problem and the model on screen stays."""
        return bool(self.run_action(self._upload, data, filename))

    def _upload(self, data, filename) -> bool:
        name = base_name(filename) or "upload.npz"
        if not data:
            raise ValueError(f"Upload {name!r} is empty.")
        if len(data) > self.max_upload_bytes:
            raise ValueError(self._too_big(name, len(data)))
        with tempfile.TemporaryDirectory(prefix="rbm_explorer_upload_") as folder:
            candidate = Path(folder) / "upload.npz"
            with atomic_write(candidate) as handle:
                handle.write(data)
            try:
                load_model(candidate, max_bytes=self.max_upload_bytes)
            except ValueError as exc:
                problem = str(exc).replace(str(candidate), "").lstrip(": ")
                raise ValueError(f"Upload {name!r} is not a valid model file: {problem}") from None
        target = upload_target(name, data, owner=self.owner)
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
        self.publish(error=self._too_big(base_name(filename) or "upload", int(size)), notice="")

    @property
    def save_folder(self) -> str:
        """Where valid uploads are saved: the owner's own models folder."""
        return str(user_models_dir(self.owner))
