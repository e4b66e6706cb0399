"""The Train page: train an RBM with or without the label constraints of PRX 2023, live, and save it."""

from __future__ import annotations

from rbm_explorer.app.pages import ExplorerSession, register_page
from rbm_explorer.app.shell import add_frame_callback
from rbm_explorer.app.train_state import TrainSession
from rbm_explorer.app.train_views import TrainPage


@register_page("train", "Train", order=20,
               about="Train an RBM with PCD, CD or Rdm, with linear or quadratic label constraints, and watch its "
                     "samples and constraint residual live (PRX 2023, Eqs. 6-10).")
def build_train_page(session: ExplorerSession):
    state = TrainSession()
    session.on_close(state.close)
    add_frame_callback(session, state.poll)

    def opened(event):  # a saved model is what the Morph and Models pages open next
        if event.new:
            session.opened_model = event.new

    state.param.watch(opened, "saved_path")
    return TrainPage(state=state)
