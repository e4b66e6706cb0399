"""The Ising page: a live 2D Ising lattice with β, J, h, the algorithm and the size as knobs, and its traces;
under it the β sweep view (a sweep on Dask against exact results and the Fig. 7 RBM curves)."""

from __future__ import annotations

import panel as pn

from rbm_explorer.app.ising_state import POLL_PERIOD_MS, IsingPageState
from rbm_explorer.app.ising_sweep_state import IsingSweepState
from rbm_explorer.app.ising_sweep_views import IsingSweepView
from rbm_explorer.app.ising_views import IsingPage
from rbm_explorer.app.pages import ExplorerSession, add_frame_callback


def build_ising_page(session: ExplorerSession):
    state = IsingPageState(seed=0)
    sweep = IsingSweepState()
    session.on_close(state.close)
    session.on_close(sweep.close)
    add_frame_callback(session, state.poll, period_ms=POLL_PERIOD_MS)
    add_frame_callback(session, sweep.poll, period_ms=250)
    # another page, or a hidden tab: the lattice waits, and costs the shared pool nothing
    session.param.watch(lambda event: setattr(state, "hidden", not session.showing("ising")),
                        ["active_page", "tab_visible"])
    state.hidden = not session.showing("ising")
    return pn.Column(IsingPage(state=state), IsingSweepView(state=sweep), sizing_mode="stretch_width")
