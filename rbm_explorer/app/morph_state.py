"""Per-session state of the Morph page: live chains of a constrained RBM whose released units are knobs.

Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Figs. 6, 8c and 9e: clamp a released hidden unit, let the other units and the visibles
sample, then flip it and watch the samples morph into the other class. Switching the *variant* (unconstrained,
linear or quadratic on all units, released) swaps the model under the same chains and restarts them from the
same starting images, so the effect of the constraint is visible side by side in time.

``MorphSession`` owns one ``SamplerWorker`` (Gibbs sampling on the project's background runner). ``poll``
(called by the page's periodic callback on the session's event loop) decides whether a frame is due, extends
the traces of the watched chain, asks the class judge, and publishes all of it into read-only parameters;
views render only those parameters and call only public methods. The sampler is a task of the shared pool
(``rbm_explorer.live.pool``) until ``close``; the bound on sessions is the shell's (``app.budget.SESSIONS``).
"""

from __future__ import annotations

import collections
import time

import numpy as np
import param

from rbm_explorer.analysis.judge import UNCLEAR_INDEX, class_judge_future, dataset_for, label_direction
from rbm_explorer.analysis.morph import released_modes_from_clamps, released_setting_for_class, test_images_of_class
from rbm_explorer.live import shared_pool
from rbm_explorer.app.session_state import SessionState
from rbm_explorer.pictures import grey_chains, grey_png, image_shape_of
from rbm_explorer.catalog import ModelEntry, families, ising_families_of_size, ising_family_beta
from rbm_explorer.sampling import GibbsEngine, SamplerWorker

FRAMES_PER_SECOND = 20  # frames sent to the page per second while the chains run
JUDGE_PERIOD_S = 1.0  # the judge's class shares of all chains are recomputed once a second (and at a command)
POLL_PERIOD_MS = 20  # the page looks for a new snapshot this often, so a frame waits at most 20 ms to be sent
NOISE = "noise"
RELEASED_MODES = ("on", "free", "off")
TRACE_FRAMES = 600
FRAMES_IN_FLIGHT = 8  # frames sent but not yet reported painted before poll() holds the next one: the page
# reports every 300 ms (live_components.PAINT_REPORT_MS), 6 frames at 20 a second, plus the network's delay
TRACE_FRAME_STRIDE = 3  # traces are published every 3rd frame; the page gets their new points then


class MorphSession(SessionState):
    """Live chains of one model family, with the constraint variant, released units and traces as knobs."""

    family = param.Selector(objects=[], doc="The data the models were trained on")
    ising_beta = param.Selector(objects=[], allow_None=True, doc="β of the Ising data (Ising families only): "
                                "picks the family of that β, in its released variant")
    variant = param.Selector(objects=[], doc="Constraint variant of the model (the constraint toggle)")
    start_from = param.Selector(objects=[NOISE], doc="Start the chains from test images of this class, or noise")
    running = param.Boolean(default=True, doc="Sample continuously (on) or pause (off)")
    hidden = param.Boolean(default=False, doc="The page is not on screen: the chains wait, whatever ``running`` says")
    steps_per_frame = param.Integer(default=2, bounds=(1, 60), doc="Gibbs sweeps per displayed frame (20 frames/s)")
    beta = param.Number(default=1.0, bounds=(0.2, 3.0), step=0.05, doc="Inverse temperature of the sampler")
    auto_flip = param.Boolean(default=False, doc="Flip the first released unit automatically at a chosen step")
    auto_flip_step = param.Integer(default=500, bounds=(1, 100_000), doc="Sweep at which the automatic flip happens")
    watched_chain = param.Integer(default=0, bounds=(0, 63), doc="The chain whose traces are plotted")

    # published by poll() (read-only); views read these
    mosaic = param.Array(default=None, constant=True,
                         doc="Tiled picture of all chains, one byte of grey level per pixel (pictures.grey_chains)")
    frame_png = param.Bytes(default=b"", constant=True,
                            doc="The mosaic as an indexed PNG (pictures.grey_png): what the page draws, a quarter "
                                "(Ising spins) to a seventh (faces) of the mosaic's bytes")
    steps = param.Integer(default=0, constant=True)
    frame = param.Integer(default=0, constant=True, doc="Number of published frames")
    measured_rate = param.Number(default=0.0, constant=True)
    released_modes = param.List(default=[], constant=True, doc="Published mode of each released unit")
    traces = param.Dict(default={}, constant=True,
                        doc="Traces of the watched chain: step, input, projection, neg_free_energy, probability")
    class_shares = param.Dict(default={}, constant=True, doc="Fraction of chains the judge assigns to each class")
    status = param.String(default="", constant=True)
    grid_shape = param.Tuple(default=(0, 0), length=2, constant=True,
                             doc="(rows, columns) of the published mosaic: the grid is redrawn when it changes")
    released_layout = param.List(default=[], constant=True,
                                 doc="(unit, class name) of each released unit of the model in use")
    traced_class = param.String(default="", constant=True,
                                doc="The class whose probability P(class | v) the traces show (empty: no judge)")

    def __init__(self, n_chains: int = 64, seed: int | None = 0, family: str | None = None,
                 variant: str | None = None, catalog=None, **params):
        super().__init__(**params)
        self.catalog = families() if catalog is None else catalog
        if not self.catalog:
            raise ValueError("no models to show: the bundled models folder is empty")
        self.n_chains, self.seed = int(n_chains), seed
        self.param.watched_chain.bounds = (0, self.n_chains - 1)
        self.param.family.objects = list(self.catalog)
        self._worker = None
        self._last_version = -1
        self._last_commands = -1
        self._last_frame_at = -np.inf
        self._painted = -1  # last frame the page reported painted; -1: no page reports (no flow control)
        self._switching = False
        self._trace = collections.deque(maxlen=TRACE_FRAMES)
        self._start_v = None
        with param.parameterized.discard_events(self):
            self.family = family if family is not None else self._default_family()
        self._enter_family(variant)  # publishes a first frame, so that the page never shows an empty grid

    # --- model choice ---------------------------------------------------------------------------------------
    def _default_family(self) -> str:
        preferred = [f for f in self.catalog if f.startswith("MNIST 0/1")]
        return preferred[0] if preferred else next(iter(self.catalog))

    @property
    def entry(self) -> ModelEntry:
        return self.catalog[self.family][self.variant]

    def _enter_family(self, variant: str | None = None) -> None:
        """Show the family's variants and start choices, select ``variant`` (by default its first released
        variant) and load it. The selections are made with their events, so that the page's toggles show them;
        ``_switching`` keeps the variant and start watchers from loading anything until the family is set."""
        variants = self.catalog[self.family]
        if variant is None:
            released = [v for v in variants if "released" in v]
            variant = released[0] if released else next(iter(variants))
        spec = self._dataset_spec(next(iter(variants.values())))
        classes = list(dataset_for(spec).label_names) if spec else []
        self.class_names = classes
        self._switching = True
        try:
            betas = list(ising_families_of_size(self.catalog, self.family))
            if betas != self.param.ising_beta.objects:  # unchanged choices are not re-sent to the page's select
                self.param.ising_beta.objects = betas
            self.param.update(ising_beta=(ising_family_beta(self.family) or (None, None))[1])
            self.param.variant.objects = list(variants)
            self.param.start_from.objects = classes + [NOISE]
            self.param.update(variant=variant, start_from=classes[0] if classes else NOISE)
            # a variant of the same name as before (e.g. 'linear, 1 released') changes no value, but the toggle
            # got new options and must be told which one is in use
            self.param.trigger("variant", "start_from")
        finally:
            self._switching = False
        self._load_variant(restart=True, new_family=True)

    @param.depends("ising_beta", watch=True)
    def _on_ising_beta(self):  # the Ising family of that β (same size), in its released variant
        if self._switching or self.ising_beta is None:
            return
        title = ising_families_of_size(self.catalog, self.family).get(self.ising_beta)
        if title is not None and title != self.family:
            self.family = title

    @staticmethod
    def _dataset_spec(entry: ModelEntry) -> dict | None:
        spec = entry.metadata.get("dataset")
        return spec if spec and spec.get("name") else None

    def _load_variant(self, restart: bool, new_family: bool = False) -> None:
        """Put the selected variant under the chains. Within a family (same shapes) the chains keep running
        and only the model changes; another family starts from its own images, with a new engine when the
        shapes differ. The page gets the new released units and a frame of the new model at once."""
        entry = self.entry
        model = entry.load()
        self.model, self.rbm = model, model.rbm
        self.image_shape = image_shape_of(model)
        self.released_units = list(entry.metadata.get("released_units") or [])
        self.released_classes = list(entry.metadata.get("released_classes") or [None] * len(self.released_units))
        spec = self._dataset_spec(entry)
        self._judge = None
        self._judged_at, self._judged_commands, self._shares = -float("inf"), -1, {}
        self._directions = {}
        self._spec = spec
        # the classifier is fitted in the background (seconds for 48 x 48 faces); poll() picks it up
        self._judge_future = class_judge_future(spec) if spec is not None else None
        old = self._worker
        same_layout = old is not None and (old.engine.rbm.visible.kind, old.engine.rbm.visible.n_features) == (self.rbm.visible.kind, self.rbm.visible.n_features) \
            and old.engine.rbm.n_hidden == self.rbm.n_hidden
        if new_family or not same_layout:
            self._start_v = self._start_images()
        if same_layout:
            self._worker.unclamp_hidden()
            self._worker.set_model(self.rbm)
        else:  # first model, or another family with other shapes: a new engine and runner
            if old is not None:
                old.stop()
            engine = GibbsEngine(self.rbm, self.n_chains, seed=self.seed, init_v=self._start_v, beta=self.beta)
            self._worker = SamplerWorker(engine, steps_per_second=self._target_rate(), trace_length=0,
                                         publish_hz=FRAMES_PER_SECOND * 1.5, policy=shared_pool())
            self._worker.runner.share = self._share()
        if restart:
            self.reset()
        if self.running and not self.hidden:
            self._worker.start()
        self.publish(released_layout=[(unit, self._class_label(cls))
                                      for unit, cls in zip(self.released_units, self.released_classes)],
                     traced_class=self._class_label(self._traced_class_index()) if self._spec is not None else "")
        # the next poll publishes a frame at once, whatever the flow control and the frame clock say
        self._last_version, self._painted, self._last_frame_at = -1, -1, -np.inf
        self.poll()

    def _traced_class_index(self, k: int = 0) -> int:
        """The class the traces follow: the one released unit ``k`` generates; without released units the class
        the chains started from (class 1 when they started from noise)."""
        if k < len(self.released_classes) and self.released_classes[k] is not None:
            return int(self.released_classes[k])
        start = self._start_class()
        return start if start is not None else min(1, max(len(self.class_names) - 1, 0))

    def _class_label(self, cls) -> str:
        """The name of the class a released unit's high state generates ('high' when the model says none)."""
        return self.class_names[cls] if cls is not None and 0 <= cls < len(self.class_names) else "high"

    @param.depends("family", watch=True)
    def _on_family(self):
        self.run_action(self._enter_family)

    @param.depends("variant", watch=True)
    def _on_variant(self):
        """The constraint toggle: same chains, same starting images, another model."""
        if not self._switching:
            self.run_action(self._load_variant, restart=True)

    @param.depends("start_from", watch=True)
    def _on_start_from(self):
        if self._switching:
            return

        def restart():
            self._start_v = self._start_images()
            self.reset()
            if self._spec is not None:
                self.publish(traced_class=self._class_label(self._traced_class_index()))
        self.run_action(restart)

    def _start_images(self) -> np.ndarray | None:
        """``n_chains`` test images of the chosen class (natural states), or None for noise."""
        if self._spec is None or self.start_from == NOISE:
            return None
        return test_images_of_class(self._spec, self.class_names.index(self.start_from), self.n_chains, self.seed)

    def _start_class(self) -> int | None:
        return None if self.start_from == NOISE or not self.class_names else self.class_names.index(self.start_from)

    def _apply_default_clamps(self) -> None:
        modes = released_setting_for_class(self.released_classes, self._start_class())
        for k, mode in enumerate(modes):
            self.set_released(k, mode)

    # --- actions ------------------------------------------------------------------------------------------
    def _target_rate(self) -> float:
        return float(self.steps_per_frame * FRAMES_PER_SECOND)

    def _share(self) -> float:
        """This session's weight in the shared pool: its requested sweeps per second over the default's, so
        that a loaded server slows every session in proportion to what it asked for."""
        return self._target_rate() / (self.param.steps_per_frame.default * FRAMES_PER_SECOND)

    @param.depends("running", "hidden", watch=True)
    def _on_running(self):
        # a session on another page of the explorer costs no CPU; the chains go on where they were when the
        # page comes back
        if self.running and not self.hidden:
            self._worker.start()
        else:
            self._worker.pause()

    @param.depends("steps_per_frame", watch=True)
    def _on_speed(self):
        self._worker.steps_per_second = self._target_rate()
        self._worker.runner.share = self._share()

    @param.depends("beta", watch=True)
    def _on_beta(self):
        self.run_action(self._worker.set_beta, self.beta)

    @param.depends("auto_flip", "auto_flip_step", watch=True)
    def _on_auto_flip(self):
        self.run_action(self._schedule_auto_flip)

    def _schedule_auto_flip(self) -> None:
        self._worker.cancel_scheduled()
        if self.auto_flip and self.released_units:
            self._worker.flip_hidden_at(self.auto_flip_step, self.released_units[0])

    @property
    def hidden_levels(self) -> tuple[float, float]:
        return self.rbm.hidden.value_range

    @property
    def visible_levels(self) -> tuple[float, float]:
        return self.rbm.visible.value_range

    def set_released(self, k: int, mode: str) -> None:
        """Clamp released unit ``k`` on (its high state), off, or let it sample freely."""
        if not 0 <= k < len(self.released_units):
            raise ValueError(f"released unit index {k} out of range: this model has {len(self.released_units)}")
        if mode not in RELEASED_MODES:
            raise ValueError(f"mode must be one of {RELEASED_MODES}, got {mode!r}")
        unit = self.released_units[k]
        low, high = self.hidden_levels
        if mode == "free":
            self._worker.unclamp_hidden([unit])
        else:
            self._worker.clamp_hidden([unit], [high if mode == "on" else low])

    def flip(self, k: int = 0) -> None:
        """Flip released unit ``k`` in every chain: on <-> off; a free unit is clamped to the opposite of the
        state most chains are in now (Fig. 8c)."""
        if not 0 <= k < len(self.released_units):
            raise ValueError(f"released unit index {k} out of range: this model has {len(self.released_units)}")
        mode = self.released_modes[k] if k < len(self.released_modes) else "free"
        if mode in ("on", "off"):
            self.set_released(k, "off" if mode == "on" else "on")
        else:
            low, high = self.hidden_levels
            current = self._worker.snapshot().h[:, self.released_units[k]]
            self.set_released(k, "off" if np.mean(current == high) >= 0.5 else "on")

    def step_once(self, n_steps: int | None = None) -> None:
        """Pause and run one frame's worth of sweeps (the "step" button)."""
        self.running = False
        self._worker.advance(n_steps or self.steps_per_frame)

    def reset(self) -> None:
        """Restart the chains from the starting images, at sweep 0, with the released units set for the
        starting class again and the traces cleared."""
        self._trace.clear()
        self._apply_default_clamps()
        self._worker.restart(self._start_v)
        self._schedule_auto_flip()

    def snapshot_png(self) -> bytes:
        """The current grid as a PNG file's bytes (the snapshot button)."""
        if self.mosaic is None:
            raise ValueError("no frame to save yet")
        return grey_png(self.mosaic, scale=4)

    # --- publishing ----------------------------------------------------------------------------------------
    def _direction(self, k: int) -> np.ndarray | None:
        """Unit-norm label direction q for the class released unit k generates (q(1) without released units)."""
        if self._spec is None:
            return np.ones(self.rbm.n_visible) / np.sqrt(self.rbm.n_visible)  # Ising: the magnetization
        target = self._traced_class_index(k)
        if target not in self._directions:
            q = label_direction(self._spec, int(target))
            self._directions[target] = q / max(np.linalg.norm(q), 1e-300)
        return self._directions[target]

    def frame_painted(self, frame: int) -> None:
        """The page painted ``frame`` (flow control: see ``poll``)."""
        self._painted = max(self._painted, int(frame))

    def poll(self) -> None:
        """Publish the worker's latest snapshot as a frame, if one is due (runs on the session's loop)."""
        snap = self._worker.snapshot()
        command_frame = snap.commands != self._last_commands
        if not self._frame_due(snap, command_frame):
            return
        self._last_version, self._last_commands, self._last_frame_at = snap.version, snap.commands, time.monotonic()
        chain = min(self.watched_chain, self.n_chains - 1)
        point = self._trace_point(snap, chain)
        shares = self._judge_chains(snap, chain, point)
        self._record_trace(point)
        self._publish_frame(snap, shares, command_frame)

    # --- poll, by concern ----------------------------------------------------------------------------------
    def _frame_due(self, snap, command_frame: bool) -> bool:
        """Flow control. A new snapshot becomes a frame at ``FRAMES_PER_SECOND``, except the first one after a
        user's command, sent at once. Once a page reports painted frames, no frame is sent while
        ``FRAMES_IN_FLIGHT`` are unpainted: a browser slower than the frame rate then shows fewer frames
        instead of an ever older queue of them."""
        if self._painted >= 0 and self.frame - self._painted > FRAMES_IN_FLIGHT:
            return False
        if snap.version == self._last_version:
            return False
        due = time.monotonic() - self._last_frame_at >= 1.0 / FRAMES_PER_SECOND - POLL_PERIOD_MS / 2000
        return due or command_frame or not snap.running

    def _trace_point(self, snap, chain: int) -> dict:
        """The watched chain now: the released unit's input, the projection on the label direction and −F(v)."""
        v = snap.v[chain:chain + 1].astype(np.float64)
        features = self.rbm.visible.features(v)
        inputs = features @ self.rbm.weight_matrix  # I(v), as rbm.inputs_h_from_v, computed once for both uses
        if self.rbm.label is None:  # -F(v) = Gamma_h(I(v)) - E_v(v), from the same inputs
            neg_free_energy = float(self.rbm.hidden.cgf(inputs)[0] - self.rbm.visible.energy(v)[0])
        else:
            neg_free_energy = float(-self.rbm.free_energy_v(v)[0])
        watched_unit = self.released_units[0] if self.released_units else 0
        return {
            "step": snap.steps,
            "input": float(inputs[0, watched_unit]),
            "projection": float(features[0] @ self._direction(0)),
            "neg_free_energy": neg_free_energy,
            "probability": float("nan"),
        }

    def _judge_chains(self, snap, chain: int, point: dict) -> dict:
        """The class judge's share of chains per class and unclear (empty until it is fitted in the
        background); the watched chain's probability of the released unit's class goes into ``point``."""
        if self._judge is None and self._judge_future is not None and self._judge_future.done():
            try:
                self._judge = self._judge_future.result()
            except Exception as exc:  # the page works without a judge; say why
                self.publish(error=f"no classifier for this dataset: {exc}")
            self._judge_future = None
        if self._judge is None:
            return {}
        # all 64 chains cost about 2 ms (benchmarks/judge.py), on the session's event loop: judged a few times a
        # second, which is as often as the status line shows them, and at once after a command or a pause; in
        # the other frames only the traced chain
        now = time.monotonic()
        traced = self._traced_class_index()
        if now - self._judged_at >= JUDGE_PERIOD_S or snap.commands != self._judged_commands or not snap.running:
            self._judged_at, self._judged_commands = now, snap.commands
            probabilities, unclear = self._judge.assess(snap.v)
            self._shares = self._judge.outcome_shares(np.where(unclear, UNCLEAR_INDEX, probabilities.argmax(axis=1)))
            point["probability"] = float(probabilities[chain, traced])
        else:
            point["probability"] = float(self._judge.probabilities(snap.v[chain:chain + 1])[0, traced])
        return self._shares

    def _record_trace(self, point: dict) -> None:
        """Extend the watched chain's traces by ``point``; a restart (the step count went back) clears them."""
        if self._trace and point["step"] < self._trace[-1]["step"]:
            self._trace.clear()
        if not self._trace or point["step"] != self._trace[-1]["step"]:
            self._trace.append(point)

    def _publish_frame(self, snap, shares: dict, command_frame: bool) -> None:
        """The frame's parameters. Traces go out every ``TRACE_FRAME_STRIDE`` frames and at once when paused
        (see ``MorphTraces``), but not with the frame that answers a command: that one carries only what the
        user waits for."""
        low, high = self.hidden_levels
        publish_traces = not snap.running or (self.frame % TRACE_FRAME_STRIDE == 0 and not command_frame)
        keys = ("step", "input", "projection", "neg_free_energy", "probability")
        extra = {"traces": {key: np.array([p[key] for p in self._trace]) for key in keys}} if publish_traces else {}
        columns = int(np.ceil(np.sqrt(self.n_chains)))
        mosaic = grey_chains(snap.v, self.image_shape, columns, *self.visible_levels)
        # what rarely changes is left out when it has not: setting a parameter costs its checks even when its
        # watchers are not called
        rare = {"grid_shape": mosaic.shape, "class_shares": shares, "status": snap.error or "",
                "released_modes": released_modes_from_clamps(snap.clamped_h, self.released_units, low, high)}
        changed = {key: value for key, value in rare.items() if getattr(self, key) != value}
        self.publish(mosaic=mosaic, frame_png=grey_png(mosaic), steps=snap.steps, frame=self.frame + 1,
                     measured_rate=snap.steps_per_second if snap.running else 0.0, **changed, **extra)

    @property
    def worker(self) -> SamplerWorker:
        return self._worker

    def close(self) -> None:
        """Stop the sampler and wait for its last step."""
        if self._worker is not None:
            self._worker.stop()
