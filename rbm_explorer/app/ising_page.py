"""The Ising page: a live 2D Ising lattice with β, J, h, the algorithm and the size as knobs, and its traces."""

from __future__ import annotations

from rbm_explorer.app.ising_state import POLL_PERIOD_MS, IsingPageState
from rbm_explorer.app.ising_views import IsingPage
from rbm_explorer.app.pages import ExplorerSession, add_frame_callback


def build_ising_page(session: ExplorerSession):
    state = IsingPageState(seed=0)
    session.on_close(state.close)
    add_frame_callback(session, state.poll, period_ms=POLL_PERIOD_MS)
    # another page, or a hidden tab: the lattice waits, and costs the shared pool nothing
    session.param.watch(lambda event: setattr(state, "hidden", not session.showing("ising")),
                        ["active_page", "tab_visible"])
    state.hidden = not session.showing("ising")
    return IsingPage(state=state)
