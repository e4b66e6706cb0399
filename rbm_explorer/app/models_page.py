"""The Models page: open, upload and inspect model files; weights of released units first (Fernandez-de-Cossio-Diaz,
Cocco and Monasson 2023, Figs. 3, 8)."""

from __future__ import annotations

from rbm_explorer.app.models_state import ModelsSession
from rbm_explorer.app.models_views import ModelsPage
from rbm_explorer.app.pages import ExplorerSession


def build_models_page(session: ExplorerSession):
    state = ModelsSession(initial=session.opened_model or None, owner=session.owner)
    link_sessions(state, session)
    return ModelsPage(state=state)


def link_sessions(state: ModelsSession, session: ExplorerSession) -> None:
    """A model the user opens here becomes the session's ``opened_model`` (other pages can switch to it); a
    model another page opens or saves is added to this page's list."""
    state.param.watch(lambda event: setattr(session, "opened_model", event.new), "opened_path")
    session.param.watch(lambda event: event.new != state.model_path and state.refresh(), "opened_model")
