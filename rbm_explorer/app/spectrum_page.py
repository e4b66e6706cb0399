"""The Spectrum page: the singular values of a model against the Marchenko–Pastur law, over its training
history, and the rotation of its eigenvectors (Toledo-Marin, Maiti, Fox and Melko 2025, Figs. 3a-d and 6)."""

from __future__ import annotations

from rbm_explorer.app.pages import ExplorerSession, add_frame_callback
from rbm_explorer.app.spectrum_state import POLL_PERIOD_MS, SpectrumState
from rbm_explorer.app.spectrum_views import SpectrumPage


def build_spectrum_page(session: ExplorerSession):
    state = SpectrumState(initial=session.opened_model, owner=session.owner, seed=0)
    session.on_close(state.close)
    add_frame_callback(session, state.poll, period_ms=POLL_PERIOD_MS)
    return SpectrumPage(state=state)
