"""Per-session state of the Landscape page: the energy of chosen modes in reciprocal space, with the saddle, the
test data and the page's live Gibbs chains on it, a random RBM of the same shape beside the trained one, and the
free energy along the top mode at each snapshot (Toledo-Marin, Maiti, Fox and Melko 2025, Fig. 2 and Figs. 7-8).

With W = U Σ Vᵀ, x = Uᵀv and y = Vᵀh, the bilinear energy splits into modes E_k = −α_k x_k − β_k y_k −
σ_k x_k y_k, a saddle at (x*, y*) = (−β_k/σ_k, −α_k/σ_k). The fields decide where it sits: the model's own,
zero, or visible fields from the data frequencies (``FIELD_CHOICES``); the points do not move with that choice
(they are where the data and the chains are), only the surface and its saddle do.

The chains are a ``SamplerWorker`` on the shared pool (``live.shared_pool``), sampling the snapshot on screen
when its full W was kept (the model, and a file's first and last snapshots); a snapshot with only its top modes
has no chains, and the page says so. The test data load as a ``BackgroundJob`` on the same pool. ``poll`` (the
page's periodic callback, on the session's event loop) projects the latest chains on the modes of the four plot
slots and publishes them; views render only the published parameters.
"""

from __future__ import annotations

import numpy as np
import param

from rbm_explorer.analysis.spectra import (FIELD_CHOICES, FIELD_LABELS, ReciprocalBasis, check_bilinear,
                                           mode_free_energy, mode_view, project, random_like, sample_hidden,
                                           snapshot_basis, weight_shape_note)
from rbm_explorer.analysis.spectra.interactive import (basis_with_fields, contour_levels, free_energy_curves,
                                                       mode_isolines, rbm_of_basis, snapshot_choices, snapshot_rbm,
                                                       weight_scale)
from rbm_explorer.app.session_state import SessionState
from rbm_explorer.app.spectrum_common import BackgroundJob, first_model, load_model_file, model_choices
from rbm_explorer.catalog import CURRENT, resolve_owner
from rbm_explorer.live import shared_pool
from rbm_explorer.sampling import GibbsEngine, SamplerWorker

N_CHAINS = 64
POLL_PERIOD_MS = 250  # chains are projected and sent 4 times a second
DATA_POINTS = 400  # test points drawn on each plot (a seeded random subset of the test split)
DATA_LIMIT = 2000  # test states used for the data-frequency fields
GRID_POINTS = 100
SLOTS = ("a", "b", "c", "d")
THE_MODEL = -1  # the ``snapshot`` value of the model itself
DEFAULT_SPEED = 20
DEFAULT_SIGMA_W = 0.01  # the random RBM's σ_W when the file does not say and W has no spread (Hinton's)


def load_test_data(model_file, seed: int):
    """(all test states up to DATA_LIMIT, the plotted subset, its labels, the class names), or Nones; run on the
    shared pool (``reports.spectrum.test_data_of`` loads and caches the dataset)."""
    from rbm_explorer.reports.spectrum import test_data_of

    states, labels, names = test_data_of(model_file, DATA_LIMIT)
    if states is None:
        return None, None, None, None
    pick = np.sort(np.random.default_rng(seed).permutation(len(states))[:DATA_POINTS])
    return states, states[pick], np.asarray(labels)[pick], names


def empty_view(mode: int = 1, note: str = "") -> dict:
    """What a plot slot shows with nothing to draw (the same keys as a real view)."""
    z = np.zeros(0)
    return {"mode": mode, "xs": np.array([0.0, 1.0]), "ys": np.array([0.0, 1.0]), "energy": np.zeros((2, 2)),
            "lines": [], "saddle": (np.nan, np.nan), "saddle_energy": np.nan, "saddle_on_plot": False,
            "sigma": np.nan, "data_x": z, "data_y": z, "data_class": np.zeros(0, int), "note": note}


class LandscapeState(SessionState):
    """Landscapes of four chosen modes of one model snapshot, trained beside random, with live chains."""

    model = param.Selector(objects={}, doc="The model whose landscapes are shown (bundled, yours or shared)")
    snapshot = param.Selector(objects={"the model": THE_MODEL}, default=THE_MODEL,
                              doc="The model itself or one of its training snapshots")
    fields = param.Selector(objects=list(FIELD_CHOICES), default="model",
                            doc="The fields of the energy surface: the model's own, zero, or visible fields from the "
                                "data frequencies; they move the saddle, not the points")
    mode_a = param.Selector(objects=[1], default=1, doc="Mode of the first row of plots")
    mode_b = param.Selector(objects=[1], default=1, doc="Mode of the second row of plots")
    mode_c = param.Selector(objects=[1], default=1, doc="Mode of the third row of plots")
    mode_d = param.Selector(objects=[1], default=1, doc="Mode of the fourth row of plots")
    running = param.Boolean(default=True, doc="Run the Gibbs chains, or pause them")
    hidden = param.Boolean(default=False, doc="The page is not on screen: the chains wait")
    sweeps_per_second = param.Integer(default=DEFAULT_SPEED, bounds=(1, 200), doc="Target Gibbs sweeps per second")

    # published (read-only); views read these
    problem = param.String(default="", constant=True, doc="Why this model has no landscape (e.g. Gaussian units)")
    shape_note = param.String(default="", constant=True)
    field_note = param.String(default="", constant=True, doc="Which fields the surfaces on screen have")
    snapshot_note = param.String(default="", constant=True)
    data_note = param.String(default="", constant=True)
    chain_note = param.String(default="", constant=True)
    class_names = param.List(default=[], constant=True)
    view_a = param.Dict(default={}, constant=True, doc="trained and random view of the first slot")
    view_b = param.Dict(default={}, constant=True)
    view_c = param.Dict(default={}, constant=True)
    view_d = param.Dict(default={}, constant=True)
    chain_points = param.List(default=[], constant=True, doc="(x, y) of the chains on each slot's mode")
    status = param.String(default="", constant=True, doc="Sweeps and rate of the chains")
    free_energy = param.Dict(default={}, constant=True, doc="curves per snapshot, the one on screen, test curve")

    def __init__(self, initial: str = "", owner=CURRENT, seed: int = 0, n_chains: int = N_CHAINS, **params):
        super().__init__(**params)
        self.owner, self.seed, self.n_chains = resolve_owner(owner), int(seed), int(n_chains)
        self._worker: SamplerWorker | None = None
        self._data_job = BackgroundJob("rbm-landscape-data")
        self._switching, self._loaded = False, ""
        self._last_version = -1
        self._basis = None
        self.param.watch(self._on_mode, [f"mode_{slot}" for slot in SLOTS])
        choices = model_choices(self.owner, initial)
        self.param.model.objects = choices
        with param.discard_events(self):
            self.model = first_model(choices, initial)
        self.run_action(self._load_model)

    # --- model, snapshot, fields and modes --------------------------------------------------------------------
    @param.depends("model", watch=True)
    def _on_model(self):
        if not self._switching and self.model != self._loaded and self.run_action(self._load_model) is None:
            self.model = self._loaded  # a file that does not load: back to the model on screen

    def _load_model(self) -> bool:
        model = load_model_file(self.model)
        rbm = model.rbm
        self._file, self._rbm, self._loaded = model, rbm, self.model
        self._data = self._random_xy = self._trained_xy = None
        self._data_job.cancel()
        try:
            check_bilinear(rbm)
        except ValueError as exc:  # a Gaussian model: the page names the problem, nothing runs
            self._stop_chains()
            self._basis = None
            self._set_choices({"the model": THE_MODEL}, [1])
            self.publish(problem=f"No landscape for this model: {exc}.", shape_note=weight_shape_note(rbm),
                         field_note="", snapshot_note="", data_note="", chain_note="", class_names=[],
                         chain_points=[], status="", free_energy={"curves": [], "missing": [], "note": ""},
                         **{f"view_{slot}": {"trained": empty_view(), "random": empty_view()} for slot in SLOTS})
            return True
        sigma, source = weight_scale(model)
        if sigma is None:
            sigma, source = DEFAULT_SIGMA_W, f"{source}; Hinton's 0.01 instead"
        self._random = random_like(rbm, sigma, self.seed)
        self._random_basis = ReciprocalBasis.from_rbm(self._random)
        choices = {label: (THE_MODEL if epoch is None else epoch) for label, epoch in snapshot_choices(model).items()}
        self._set_choices(choices, None)
        self._data_job.start(self.model, load_test_data, model, self.seed)
        self.publish(problem="", shape_note=f"{weight_shape_note(rbm)}; random RBM: the same shape and fields, W "
                                            f"drawn from N(0, σ_W²) with σ_W = {sigma:.3g} ({source})",
                     data_note="loading the test data…", class_names=[])
        self._new_chains()
        self._enter_snapshot(new_model=True)
        return True

    def _set_choices(self, snapshots: dict, modes) -> None:
        """New snapshot (and, when given, mode) choices, selected without loading anything on the way."""
        self._switching = True
        try:
            self.param.snapshot.objects = snapshots
            self.snapshot = list(snapshots.values())[-1]
            if modes is not None:
                self._set_mode_choices(modes, modes * 4)
        finally:
            self._switching = False

    def _set_mode_choices(self, choices, values) -> None:
        for slot, value in zip(SLOTS, values):
            self.param[f"mode_{slot}"].objects = list(choices)
            setattr(self, f"mode_{slot}", value)

    @param.depends("snapshot", watch=True)
    def _on_snapshot(self):
        if not self._switching and self._basis is not None:
            self.run_action(self._enter_snapshot)

    @property
    def epoch(self) -> int | None:
        return None if self.snapshot == THE_MODEL else int(self.snapshot)

    def _enter_snapshot(self, new_model: bool = False) -> None:
        """The basis, the chains and the data points of the snapshot on screen, then every plot."""
        basis = snapshot_basis(self._file, self.epoch)
        self._basis = basis
        self._points_rbm = rbm_of_basis(self._rbm, basis)
        modes = list(range(1, basis.n_modes + 1))
        keep = [getattr(self, f"mode_{slot}") for slot in SLOTS]
        defaults = [1, 2, 3, basis.n_modes]
        values = defaults if new_model or any(k > basis.n_modes for k in keep) else keep
        self._switching = True
        try:
            self._set_mode_choices(modes, [min(v, basis.n_modes) for v in values])
        finally:
            self._switching = False
        self._trained_xy = self._points(basis, self._points_rbm) if self._data is not None else None
        kept = "" if self.epoch is None or basis.n_modes == min(self._rbm.weight_matrix.shape) else \
            f"this snapshot kept only its top {basis.n_modes} modes (the data's hidden coordinates use that rank-" \
            f"{basis.n_modes} W); "
        stored = "" if basis.fields != "zero" or self.fields == "zero" else \
            "it did not store its fields (zero fields); "
        self.publish(snapshot_note=(kept + stored).rstrip("; "))
        self._chains_for_snapshot()
        self._publish_views()
        self._publish_free_energy()

    def _points(self, basis, rbm) -> tuple[np.ndarray, np.ndarray]:
        """(x, y), test points x modes: x = Uᵀf(v), y = Vᵀh with h drawn from p(h | v) (as the static figures)."""
        features = rbm.visible.features(self._data[1])
        hidden = sample_hidden(rbm, features, self.seed)
        return basis.visible_coordinates(features), basis.hidden_coordinates(rbm.hidden.features(hidden))

    @param.depends("fields", watch=True)
    def _on_fields(self):
        if self._switching or self._basis is None:
            return
        if self.fields == "data" and self._data is None and not self._data_job.busy:
            self._refuse_data_fields()
            return
        self.run_action(self._publish_views)

    def _refuse_data_fields(self) -> None:
        """Back to the model's fields, with the reason as the page's error (no dataset to take frequencies of)."""
        self._switching = True
        try:
            self.fields = "model"
        finally:
            self._switching = False
        self._publish_views()
        self.publish(error="data-frequency fields need the model's test data, which are not available")

    def _on_mode(self, *events):
        """A slot's mode changed: only that slot's two plots are drawn again (a watcher, which is told which)."""
        if not self._switching and self._basis is not None:
            self.run_action(self._publish_views, [event.name[-1] for event in events])

    def _field_bases(self):
        """The trained and random bases with the chosen fields (None while data-frequency fields wait for data)."""
        data = None if self._data is None else self._data[0]
        if self.fields == "data" and data is None:
            return None
        return (basis_with_fields(self._basis, self.fields, self._rbm.visible, data),
                basis_with_fields(self._random_basis, self.fields, self._rbm.visible, data))

    def _publish_views(self, slots=None) -> None:
        bases = self._field_bases()
        label = FIELD_LABELS[self.fields]
        if bases is not None and bases[0].fields != self.fields:
            label = f"{FIELD_LABELS[bases[0].fields]} (this snapshot did not store its own)"
        self.publish(field_note=f"On screen: E_k with {label}" if bases else "waiting for the test data…")
        views = {}
        for slot in slots or SLOTS:
            mode = int(getattr(self, f"mode_{slot}"))
            if bases is None:
                views[f"view_{slot}"] = {"trained": empty_view(mode), "random": empty_view(mode)}
                continue
            views[f"view_{slot}"] = {side: self._view(basis, mode - 1, xy, side) for side, basis, xy in
                                     (("trained", bases[0], self._trained_xy), ("random", bases[1], self._random_xy))}
        self.publish(**views)

    def _view(self, basis, k: int, xy, side: str) -> dict:
        """One plot: the surface of mode k on ranges that hold its test points (or the chains), its isolines
        through the saddle, and the points."""
        data_xy = None if xy is None else np.column_stack([xy[0][:, k], xy[1][:, k]])
        samples = None  # without test data the view is fitted to the chains, or for the random RBM to noise
        if data_xy is None and side == "trained" and self._worker is not None:
            samples = np.column_stack(self._project(self._worker.snapshot(), [k]))
        elif data_xy is None:
            rng = np.random.default_rng(self.seed)
            noise = self._rbm.visible.natural_from_features(self._rbm.visible.random_features(DATA_POINTS, rng))
            features = self._rbm.visible.features(noise)
            hidden = self._random.hidden.features(sample_hidden(self._random, features, self.seed))
            samples = np.column_stack([features @ basis.u[:, k], hidden @ basis.v[:, k]])
        view = mode_view(basis, k, data_xy, samples, points=GRID_POINTS)
        saddle_energy = float(basis.saddles().energy[k])
        lines = mode_isolines(basis, k, (view.xs[0], view.xs[-1]), (view.ys[0], view.ys[-1]),
                              contour_levels(view.energy, saddle_energy))
        empty = np.zeros(0)
        return {"mode": k + 1, "xs": view.xs, "ys": view.ys, "energy": view.energy, "lines": lines,
                "saddle": view.saddle, "saddle_energy": saddle_energy, "saddle_on_plot": view.saddle_on_plot,
                "sigma": float(basis.singular_values[k]),
                "data_x": empty if data_xy is None else data_xy[:, 0],
                "data_y": empty if data_xy is None else data_xy[:, 1],
                "data_class": np.zeros(0, int) if data_xy is None else np.asarray(self._data[2], int), "note": ""}

    def _publish_free_energy(self) -> None:
        curves, missing = free_energy_curves(self._file.weight_history(), 0, "chains")
        test = None
        if self._trained_xy is not None:
            x, f = mode_free_energy(self._trained_xy[0][:, 0], bins=30)
            test = {"x": x, "free_energy": f}
        note = ""
        if missing:
            note = (f"snapshots at epochs {', '.join(map(str, missing))} recorded no projections: no curve"
                    if curves else "this file's snapshots recorded no projections of their chains: no curves")
        self.publish(free_energy={"curves": curves, "missing": missing, "selected": self.epoch, "test": test,
                                  "note": note})

    # --- the chains ---------------------------------------------------------------------------------------------
    def _new_chains(self) -> None:
        self._stop_chains()
        engine = GibbsEngine(self._rbm, self.n_chains, seed=self.seed)
        self._worker = SamplerWorker(engine, steps_per_second=float(self.sweeps_per_second), trace_length=0,
                                     publish_hz=8.0, name="rbm-landscape-chains", policy=shared_pool())
        self._worker.runner.share = self.sweeps_per_second / DEFAULT_SPEED

    def _chains_for_snapshot(self) -> None:
        rbm = snapshot_rbm(self._file, self.epoch)
        self._chain_rbm = rbm
        if rbm is None:
            self._worker.pause()
            self.publish(chain_note="no chains at this snapshot: it kept only its top modes, not the full W they "
                                    "need to sample", chain_points=[], status="")
            return
        self._worker.set_model(rbm)
        self._worker.restart()
        self._last_version = -1
        self.publish(chain_note=f"{self.n_chains} Gibbs chains of this snapshot, from noise")
        self._sync_running()

    @param.depends("running", "hidden", watch=True)
    def _sync_running(self):
        if self._worker is None:
            return
        if self.running and not self.hidden and self._chain_rbm is not None and not self.problem:
            self._worker.start()
        else:
            self._worker.pause()

    @param.depends("sweeps_per_second", watch=True)
    def _on_speed(self):
        if self._worker is not None:
            self._worker.steps_per_second = float(self.sweeps_per_second)
            self._worker.runner.share = self.sweeps_per_second / DEFAULT_SPEED

    def restart_chains(self) -> None:
        """New chains from noise, at sweep 0."""
        if self._worker is not None and self._chain_rbm is not None:
            self._worker.restart()

    def _stop_chains(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._chain_rbm = None

    def _project(self, snap, modes) -> tuple[np.ndarray, np.ndarray]:
        rbm = self._rbm
        features, hidden = rbm.visible.features(snap.v), rbm.hidden.features(snap.h)
        xy = [project(self._basis, features, hidden, k) for k in modes]
        return np.stack([p[:, 0] for p in xy], axis=1), np.stack([p[:, 1] for p in xy], axis=1)

    # --- the frame ------------------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Take finished test data, and publish the chains' latest positions (on the session's event loop)."""
        self._take_data()
        if self._worker is None or self._chain_rbm is None:
            return
        snap = self._worker.snapshot()
        if snap is None or snap.version == self._last_version:
            return
        self._last_version = snap.version
        modes = [int(getattr(self, f"mode_{slot}")) - 1 for slot in SLOTS]
        x, y = self._project(snap, modes)
        rate = f" · {snap.steps_per_second:.0f} sweeps/s" if snap.running else " · paused"
        self.publish(chain_points=[(x[:, i], y[:, i]) for i in range(len(SLOTS))],
                     status=f"sweep {snap.steps:,}{rate}" + (f" · error: {snap.error}" if snap.error else ""))

    def _take_data(self) -> None:
        done = self._data_job.take()
        if done is None:
            return
        path, outcome = done
        if path != self.model or self._basis is None:
            return
        if outcome.error or outcome.result[0] is None:
            self.publish(data_note="no test data: " + (outcome.error or "the model names no dataset this machine "
                                                       "has") + "; the views follow the chains")
            if self.fields == "data":
                self._refuse_data_fields()
            return
        self._data = outcome.result
        self._trained_xy = self._points(self._basis, self._points_rbm)
        self._random_xy = self._points(self._random_basis, self._random)
        names = list(outcome.result[3])
        self.publish(class_names=names, data_note=f"{len(self._data[1])} test points of the classes "
                                                  f"{', '.join(names)}, coloured by class")
        self.run_action(self._publish_views)
        self._publish_free_energy()

    def close(self) -> None:
        self._data_job.cancel()
        self._stop_chains()
