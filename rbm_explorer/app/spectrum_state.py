"""Per-session state of the Spectrum page: the singular values of a model and of its training history against
the Marchenko–Pastur law, and the rotation experiment (Toledo-Marin, Maiti, Fox and Melko 2025, Figs. 3a-d and 6).

At the Gaussian initialisation the singular values of W fill the Marchenko–Pastur bulk [s₋, s₊] of a random
matrix of the same shape and σ_W; training pulls the top ones out of it. The page bins every recorded epoch of
the history once, on log-spaced bins fixed over the whole history, so the scrubber (and playing it) only picks
a row: the histogram then shows the top values leaving the bulk. The history is also drawn as lines, σ_k
against epoch.

The rotation experiment resamples pictures from p(v | h) of test images' hidden states with W and with W whose
left singular vectors are rotated by an angle: within the span of the top-k modes (the picture changes as a
whole) or in planes orthogonal to them (it changes in places). It runs on the shared pool (``BackgroundJob``);
``poll`` publishes its pictures.
"""

from __future__ import annotations

import numpy as np
import param

from rbm_explorer.analysis.spectra import log_bins, mp_edges, weight_shape_note
from rbm_explorer.analysis.spectra.interactive import (history_lines, history_values, rotation_hidden_states,
                                                       rotation_samples, spectrum_counts, weight_scale)
from rbm_explorer.analysis.spectra.marchenko_pastur import mp_expected_counts
from rbm_explorer.app.session_state import SessionState
from rbm_explorer.app.spectrum_common import BackgroundJob, first_model, load_model_file, model_choices
from rbm_explorer.catalog import CURRENT, resolve_owner
from rbm_explorer.pictures import grey_chains, grey_png, image_shape_of

POLL_PERIOD_MS = 200
ROTATION_SAMPLES = 16  # pictures before and after, 4 x 4
PICTURE_PIXELS = 240  # the pictures are enlarged (whole screen pixels per state pixel) to about this width
ROTATION_LABELS = {"top": "within the top-k modes", "orthogonal": "orthogonal to the top-k modes"}


def rotation_pictures(model_file, hidden, k: int, angle_degrees: float, where: str, seed: int):
    """The rotation experiment of one request, as it runs on the shared pool: (hidden states, PNG before,
    PNG after). The hidden states are drawn from test images once per model (or from Gibbs chains when the
    model names no dataset) and passed back for the next request."""
    from rbm_explorer.reports.spectrum import test_data_of

    rbm = model_file.rbm
    if hidden is None:
        data = test_data_of(model_file, ROTATION_SAMPLES)[0]
        source = "test images" if data is not None else "Gibbs chains after 200 sweeps (no dataset)"
        hidden = (rotation_hidden_states(rbm, data, ROTATION_SAMPLES, seed), source)
    before, after = rotation_samples(rbm, hidden[0], k, np.deg2rad(angle_degrees), where, seed)
    shape = image_shape_of(model_file)
    low, high = rbm.visible.value_range
    columns = int(np.ceil(np.sqrt(len(before))))
    pngs = []
    for v in (before, after):
        grey = grey_chains(np.asarray(v, np.float32), shape, columns, low, high)
        pngs.append(grey_png(grey, scale=max(1, PICTURE_PIXELS // max(grey.shape))))
    return hidden, pngs[0], pngs[1]


class SpectrumState(SessionState):
    """A model's spectrum at a chosen epoch of its history, the history as lines, and the rotation experiment."""

    model = param.Selector(objects={}, doc="The model whose spectrum is shown (bundled, yours or shared)")
    epoch_index = param.Integer(default=0, bounds=(0, 0), doc="Which recorded epoch of the training history")
    rotation_k = param.Integer(default=10, bounds=(1, 10), doc="k: how many top modes the rotation keeps (or "
                               "rotates within)")
    rotation_angle = param.Number(default=45.0, bounds=(0.0, 180.0), step=5.0, doc="Rotation angle in degrees")
    rotation_kind = param.Selector(objects={label: kind for kind, label in ROTATION_LABELS.items()}, default="top",
                                   doc="Rotate within the span of the top-k modes (the picture changes as a "
                                       "whole) or in planes orthogonal to it, the top-k kept (it changes in places)")

    # published (read-only); views read these
    title = param.String(default="", constant=True, doc="The model on screen")
    shape_note = param.String(default="", constant=True, doc="What the spectrum is the spectrum of (N x M)")
    sigma_note = param.String(default="", constant=True, doc="σ_W of the MP law and where it comes from")
    epochs = param.List(default=[], constant=True, doc="The recorded epochs of the history (-1: none)")
    epoch = param.Integer(default=-1, constant=True, doc="The epoch on screen (-1: the model, no history)")
    edges = param.Array(default=np.geomspace(0.1, 1.0, 2), constant=True, doc="Log-spaced bin edges")
    counts = param.Array(default=np.zeros(1), constant=True, doc="Singular values per bin at the epoch")
    expected = param.Array(default=None, allow_None=True, constant=True, doc="MP counts per bin (None: no σ_W)")
    count_max = param.Number(default=1.0, constant=True, doc="The largest count of any epoch (a fixed y axis)")
    mp_bulk = param.Tuple(default=None, allow_None=True, length=2, constant=True, doc="(s₋, s₊), None without σ_W")
    outliers = param.Array(default=np.zeros(0), constant=True, doc="The values above s₊ at the epoch")
    n_values = param.Integer(default=0, constant=True, doc="How many singular values W has")
    n_above = param.Integer(default=0, constant=True, doc="How many of them are above s₊ at the epoch")
    history = param.Dict(default={}, constant=True, doc="epochs, top (epochs x k), rest_low, rest_high")
    before_png = param.Bytes(default=b"", constant=True, doc="Pictures from p(v | h) with W")
    after_png = param.Bytes(default=b"", constant=True, doc="The same, with the rotated W")
    rotation_note = param.String(default="", constant=True, doc="What the rotation pictures show, or why none")
    rotation_busy = param.Boolean(default=False, constant=True, doc="A rotation is being computed")

    def __init__(self, initial: str = "", owner=CURRENT, seed: int = 0, **params):
        super().__init__(**params)
        self.owner, self.seed = resolve_owner(owner), int(seed)
        self._job = BackgroundJob("rbm-spectrum-rotation")
        self._hidden, self._hidden_path = None, None
        self._loading = False
        self._loaded = ""
        choices = model_choices(self.owner, initial)
        self.param.model.objects = choices
        with param.discard_events(self):
            self.model = first_model(choices, initial)
        if self.run_action(self._load):
            self.request_rotation()

    # --- the model and its history --------------------------------------------------------------------------
    @param.depends("model", watch=True)
    def _on_model(self):
        if self.model != self._loaded:
            if self.run_action(self._load) is None:
                self.model = self._loaded  # a file that does not load: back to the model on screen
            else:
                self.request_rotation()

    def _load(self) -> bool:
        model = load_model_file(self.model)
        rbm = model.rbm
        n, m = rbm.weight_matrix.shape
        sigma, source = weight_scale(model)
        epochs, values = history_values(model)
        edges = log_bins(values.reshape(-1), n, m, sigma)  # one set of bins for the whole history
        self._counts = spectrum_counts(values, edges)
        self._values, self._file = values, model
        self._bulk = mp_edges(n, m, sigma) if sigma is not None else None
        expected = mp_expected_counts(edges, n, m, sigma) if sigma is not None else None
        r = values.shape[1]
        lines = history_lines(values)
        self._loading = True  # the new bounds and epoch are set before one publication of the new model
        try:
            self.param.epoch_index.bounds = (0, len(epochs) - 1)
            self.param.rotation_k.bounds = (1, max(1, min(r, n - 1)))
            k_max = max(1, min(r, n - 1))
            self.param.update(epoch_index=len(epochs) - 1, rotation_k=min(max(self.rotation_k, 2), k_max))
        finally:
            self._loading = False
        self.publish(title=f"{self.model_label}", shape_note=weight_shape_note(rbm),
                     sigma_note=f"σ_W = {sigma:.3g}, from {source}" if sigma is not None else
                     f"{source}, so no Marchenko–Pastur law", epochs=[int(e) for e in epochs],
                     edges=edges, expected=expected, n_values=int(r),
                     mp_bulk=None if self._bulk is None else tuple(float(b) for b in self._bulk),
                     count_max=float(max(self._counts.max(), 0 if expected is None else expected.max())),
                     history={"epochs": epochs.astype(np.float64), **lines}, before_png=b"", after_png=b"",
                     rotation_note="")
        self._publish_epoch()
        self._hidden, self._loaded = None, self.model
        return True

    @property
    def model_label(self) -> str:
        return next((label for label, path in self.param.model.objects.items() if path == self.model), self.model)

    @param.depends("epoch_index", watch=True)
    def _on_epoch(self):
        if not self._loading:
            self.run_action(self._publish_epoch)

    def _publish_epoch(self) -> None:
        i = int(np.clip(self.epoch_index, 0, len(self._counts) - 1))
        values = self._values[i]
        outliers = values[values > self._bulk[1]] if self._bulk is not None else np.zeros(0)
        self.publish(epoch=int(self.epochs[i]) if self.epochs else -1, counts=self._counts[i], outliers=outliers,
                     n_above=len(outliers))

    def play_range(self) -> tuple[int, int]:
        """The scrubber's first and last index."""
        return self.param.epoch_index.bounds

    # --- the rotation experiment ------------------------------------------------------------------------------
    @param.depends("rotation_k", "rotation_angle", "rotation_kind", watch=True)
    def _on_rotation(self):
        if not self._loading:
            self.request_rotation()

    def request_rotation(self) -> None:
        """Queue the rotation experiment with the current settings (a newer request replaces an older one)."""
        k, where = int(self.rotation_k), self.rotation_kind
        if where == "top" and self.param.rotation_k.bounds[1] < 2:
            self._job.cancel()
            self.publish(before_png=b"", after_png=b"", rotation_busy=False,
                         rotation_note="W has a single mode: a rotation within the top modes needs two; choose "
                                       "'orthogonal to the top-k modes'")
            return
        if where == "top" and k < 2:
            self.publish(error="rotating within the top modes needs k ≥ 2 (one mode spans no plane)",
                         rotation_busy=False)
            return
        hidden = self._hidden if self._hidden_path == self.model else None
        tag = (self.model, k, float(self.rotation_angle), where)
        self._job.start(tag, rotation_pictures, self._file, hidden, k, float(self.rotation_angle), where, self.seed)
        self.publish(rotation_busy=True)

    def poll(self) -> None:
        """Publish a finished rotation (on the session's event loop)."""
        done = self._job.take()
        if done is None:
            return
        (path, k, angle, where), outcome = done
        if path != self.model:  # a request for a model no longer on screen
            self.publish(rotation_busy=self._job.busy)
            return
        if outcome.error:
            self.publish(error=outcome.error, rotation_busy=False)
            return
        hidden, before, after = outcome.result
        self._hidden, self._hidden_path = hidden, path
        span = f"the span of the top {k} modes" if where == "top" else f"planes orthogonal to the top {k} modes"
        self.publish(before_png=before, after_png=after, rotation_busy=self._job.busy, error="",
                     rotation_note=f"{len(hidden[0])} pictures drawn from p(v | h), with h from {hidden[1]}; "
                                   f"after: U rotated by {angle:g}° in {span}, with the same random numbers")

    def close(self) -> None:
        self._job.cancel()
