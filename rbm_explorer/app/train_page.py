"""The Train page: train an RBM with or without the label constraints of Fernandez-de-Cossio-Diaz, Cocco and
Monasson (2023, Eqs. 6-10), live, and save it."""

from __future__ import annotations

from rbm_explorer.app.pages import ExplorerSession, add_frame_callback
from rbm_explorer.app.train_state import TrainSession
from rbm_explorer.app.train_views import TrainPage


def build_train_page(session: ExplorerSession):
    state = TrainSession(owner=session.owner)  # the session's own runs only
    session.on_close(state.close)
    add_frame_callback(session, state.poll)

    def opened(event):  # a saved model is what the Morph and Models pages open next
        if event.new:
            session.opened_model = event.new

    state.param.watch(opened, "saved_path")
    return TrainPage(state=state)
