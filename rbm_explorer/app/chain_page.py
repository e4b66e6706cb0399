"""Build the live chains page for one session: state, periodic publishing, clean-up on session end."""

from __future__ import annotations

import holoviews as hv
import panel as pn

from rbm_explorer.app.chain_state import ChainSession
from rbm_explorer.app.chain_views import ChainPage
from rbm_explorer.app.pages import FRAME_PERIOD_MS, drop_orphaned_socket_writes
from rbm_explorer.app.shell import limit_blas_threads
from rbm_explorer.resources import bundled_model

DEFAULT_MODEL = "ising32_single_hidden"


def build_chain_page(model: str = DEFAULT_MODEL, n_chains: int = 16, seed: int | None = None) -> ChainPage:
    """The page for one session. The periodic callback is the frame-rate limiter; the thread is joined when
    the session is destroyed."""
    pn.extension()
    limit_blas_threads()
    drop_orphaned_socket_writes()
    hv.extension("bokeh", logo=False)
    state = ChainSession.from_file(bundled_model(model), n_chains=n_chains, seed=seed)
    if pn.state.curdoc is not None:
        callback = pn.state.add_periodic_callback(state.poll, period=FRAME_PERIOD_MS)

        def _cleanup(session_context):
            callback.stop()
            state.close()

        pn.state.on_session_destroyed(_cleanup)
    return ChainPage(state=state)
