"""The Landscape page: the energy of chosen modes in reciprocal space with its saddle, the test data and live
Gibbs chains on it, a random RBM beside the trained one, and the free energy along the top mode (Toledo-Marin,
Maiti, Fox and Melko 2025, Figs. 2, 7 and 8)."""

from __future__ import annotations

from rbm_explorer.app.landscape_state import POLL_PERIOD_MS, LandscapeState
from rbm_explorer.app.landscape_views import LandscapePage
from rbm_explorer.app.pages import ExplorerSession, add_frame_callback


def build_landscape_page(session: ExplorerSession):
    state = LandscapeState(initial=session.opened_model, owner=session.owner, seed=0)
    session.on_close(state.close)
    add_frame_callback(session, state.poll, period_ms=POLL_PERIOD_MS)
    # another page, or a hidden tab: the chains wait, and cost the shared pool nothing
    session.param.watch(lambda event: setattr(state, "hidden", not session.showing("landscape")),
                        ["active_page", "tab_visible"])
    state.hidden = not session.showing("landscape")
    return LandscapePage(state=state)
