"""The Morph page: live chains of a constrained RBM whose released units flip the class (Fernandez-de-Cossio-Diaz,
Cocco and Monasson 2023, Figs. 6, 8c, 9e)."""

from __future__ import annotations

from rbm_explorer.app.morph_state import POLL_PERIOD_MS, MorphSession
from rbm_explorer.app.morph_views import MorphPage
from rbm_explorer.app.pages import ExplorerSession, add_frame_callback

MORPH_CHAINS = 64


def build_morph_page(session: ExplorerSession):
    state = MorphSession(n_chains=MORPH_CHAINS, seed=0)
    session.on_close(state.close)
    add_frame_callback(session, state.poll, period_ms=POLL_PERIOD_MS)
    # another page, or a tab the browser hides: the chains wait, and cost the shared pool nothing
    session.param.watch(lambda event: setattr(state, "hidden", not session.showing("morph")),
                        ["active_page", "tab_visible"])
    return MorphPage(state=state)
