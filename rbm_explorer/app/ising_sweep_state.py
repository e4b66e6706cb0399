"""Per-session state of the Ising page's sweep view: a β sweep on Dask in the background, the exact curves,
and the RBM curves of the committed Fig. 7 table.

``IsingSweepState.start`` turns the knobs into a ``SweepPlan`` and a ``BackgroundSweep`` on the process-wide
Dask client (threads in the server process, no dashboard); ``poll`` (the page's periodic callback) collects the
finished points and publishes them as ``rows``, with ``progress``. ``cancel`` stops the rest and keeps the
points. A session runs at most one sweep; a closed session cancels its own. The exact finite-L energy and heat
capacity (Ferdinand and Fisher 1969) and Onsager's magnetization are published as ``exact`` for the size and
range of the knobs, and the four RBM variants of Fig. 7 (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023)
as ``rbm_curves``, so that the views only draw.
"""

from __future__ import annotations

import math

import numpy as np
import param

from rbm_explorer.app.session_state import SessionState
from rbm_explorer.ising import exact
from rbm_explorer.ising.background_sweep import BackgroundSweep
from rbm_explorer.ising.sweep import SweepPlan

SWEEP_SIZES = (8, 16, 32, 64)
QUANTITIES = ("energy", "abs_magnetization", "heat_capacity", "susceptibility", "binder")
RBM_QUANTITIES = ("abs_magnetization", "heat_capacity", "susceptibility", "binder", "energy")


def fig7_curves() -> dict:
    """variant -> {β, value and error columns} of the committed Fig. 7 table, plus its lattice size under 'L'
    (empty when the table is missing: the page then shows no RBM curves, and says so)."""
    from rbm_explorer.reports.fig7 import bundled_csv, read_rows

    path = bundled_csv()
    if not path.is_file():
        return {}
    rows = read_rows(path)
    curves: dict = {"L": int(rows[0]["L"])} if rows else {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        curves[variant] = {"beta": np.array([r["beta"] for r in mine])}
        for q in RBM_QUANTITIES:
            curves[variant][q] = np.array([r[q] for r in mine])
            curves[variant][f"{q}_err"] = np.array([r[f"{q}_err"] for r in mine])
    return curves


class IsingSweepState(SessionState):
    """One β sweep at a time for this session, and the references it is drawn against."""

    sweep_size = param.Selector(objects=list(SWEEP_SIZES), default=16, doc="Lattice size L of the sweep")
    beta_from = param.Number(default=0.30, bounds=(0.05, 1.0), step=0.01, doc="First β of the sweep")
    beta_to = param.Number(default=0.60, bounds=(0.05, 1.0), step=0.01, doc="Last β of the sweep")
    points = param.Integer(default=13, bounds=(2, 61), doc="Number of β values, evenly spaced")
    sweeps = param.Integer(default=2000, bounds=(100, 200_000), doc="Measured sweeps per replica (hybrid sampler)")

    # published (read-only)
    rows = param.List(default=[], constant=True, doc="Finished points of the sweep, sorted by β")
    progress = param.Number(default=0.0, bounds=(0, 1), constant=True, doc="Finished share of the sweep's tasks")
    sweep_running = param.Boolean(default=False, constant=True)
    message = param.String(default="", constant=True, doc="What the sweep is doing, in words")
    exact = param.Dict(default={}, constant=True, doc="β grid and exact E, C (finite L) and Onsager's M")
    rbm_curves = param.Dict(default={}, constant=True, doc="The Fig. 7 RBM variants' points, from the CSV")

    def __init__(self, **params):
        super().__init__(**params)
        self._sweep: BackgroundSweep | None = None
        curves = fig7_curves()
        self.publish(rbm_curves=curves, message="" if curves else "the Fig. 7 table is missing: no RBM curves")
        self._publish_exact()

    @param.depends("sweep_size", "beta_from", "beta_to", watch=True)
    def _publish_exact(self):
        lo, hi = sorted((float(self.beta_from), float(self.beta_to)))
        beta = np.linspace(max(lo - 0.02, 0.05), hi + 0.02, 160)
        L = int(self.sweep_size)
        self.publish(exact={"L": L, "beta": beta, "energy": exact.torus_energy(L, beta),
                            "heat_capacity": exact.torus_heat_capacity(L, beta),
                            "abs_magnetization": exact.onsager_magnetization(beta)})

    def plan(self) -> SweepPlan:
        if not self.beta_from < self.beta_to:
            raise ValueError(f"the sweep needs beta from < beta to, got {self.beta_from} and {self.beta_to}")
        betas = tuple(float(b) for b in np.round(np.linspace(self.beta_from, self.beta_to, self.points), 6))
        return SweepPlan(sizes=(int(self.sweep_size),), betas=betas, algorithm="hybrid", replicas=8,
                         sweeps=int(self.sweeps), replicas_per_task=4)

    def start(self) -> None:
        """Start a sweep of the knobs' plan (refused while one runs: one sweep per session)."""
        def go():
            if self._sweep is not None and not self._sweep.finished:
                raise ValueError("a sweep is already running: cancel it first (one sweep per session)")
            plan = self.plan()
            self._sweep = BackgroundSweep(plan)
            self.publish(rows=[], progress=0.0, sweep_running=True,
                         message=f"sweeping L = {plan.sizes[0]} over {len(plan.betas)} values of β "
                                 f"({self._sweep.total_tasks} tasks on Dask)")
        self.run_action(go)

    def cancel(self) -> None:
        """Cancel the running sweep; its finished points stay on the plots."""
        if self._sweep is None or self._sweep.finished:
            return
        self._sweep.cancel()
        self.publish(rows=list(self._sweep.rows), sweep_running=False, progress=self._sweep.progress,
                     message=f"cancelled: {len(self._sweep.rows)} of {len(self._sweep.plan.betas)} points kept")

    def poll(self) -> None:
        """Publish the points finished since the last poll (on the session's event loop)."""
        sweep = self._sweep
        if sweep is None or not self.sweep_running:
            return
        new_row = sweep.collect()
        values = {"progress": sweep.progress}
        if new_row:
            values["rows"] = list(sweep.rows)
        if sweep.finished:
            n, total = len(sweep.rows), len(sweep.plan.betas)
            seconds = sum(float(r["seconds"]) for r in sweep.rows if not math.isnan(float(r["seconds"])))
            values.update(sweep_running=False, rows=list(sweep.rows),
                          message=sweep.error or f"done: {n} of {total} points ({seconds:.0f} s of work)")
        if values.get("progress") != self.progress or len(values) > 1:
            self.publish(**values)

    def close(self) -> None:
        """The session ended: cancel its sweep."""
        if self._sweep is not None and not self._sweep.finished:
            self._sweep.cancel()
