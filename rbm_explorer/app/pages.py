"""The explorer's pages, in one table, and what the pages of a session share.

A page is a builder ``build(session) -> viewable`` in its own module, listed in ``PAGES`` with a slug, a sidebar
title and a short "what am I looking at" text; the table's order is the sidebar's order. The builder is named
by a ``"package.module:function"`` string and imported (``pkgutil.resolve_name``) the first time a user opens
the page, so this module imports no page module, and page modules import this one (for ``ExplorerSession``
and ``add_frame_callback``) without an import cycle. Adding a page (Ising, spectra, evaluation, ...) is one
module plus one line in ``PAGES``. The shell (``shell.py``) builds pages lazily and closes whatever they
registered with the session when the session ends.
"""

from __future__ import annotations

import asyncio
import logging
import pkgutil
from dataclasses import dataclass
from typing import Callable

import panel as pn
import param

from rbm_explorer.catalog import owned_by

FRAME_PERIOD_MS = 50  # 20 frames per second: the frame-rate limiter of every live page
log = logging.getLogger(__name__)


class ExplorerSession(param.Parameterized):
    """What the pages of one browser session share: who it is (``owner``), things to close when the session
    ends, and the model file the user opened last (the Models and Train pages set it, the Morph page can switch
    to it)."""

    owner = param.String(default=None, allow_None=True, constant=True,
                         doc="Owner id of the session's runs, checkpoints and uploads (``app/identity.py``); None "
                             "outside a served session: the machine's single user, as the command line")
    opened_model = param.String(default="", doc="Path of the model the user opened or saved last")
    active_page = param.String(default="", doc="Slug of the page on screen")
    tab_visible = param.Boolean(default=True, doc="The browser shows the tab (document.visibilityState, which "
                                                  "the page reports)")

    def showing(self, slug: str) -> bool:
        """Whether page ``slug`` is on a screen now: chosen, in a tab the browser shows."""
        return self.active_page == slug and self.tab_visible

    def __init__(self, **params):
        super().__init__(**params)
        self._closers: list[Callable[[], None]] = []
        self.closed = False

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` when the session ends (threads stop, runs checkpoint)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Run every closer once, newest first; one failing closer does not stop the others."""
        if self.closed:
            return
        self.closed = True
        errors = []
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception as exc:  # keep closing the rest
                errors.append(exc)
        self._closers.clear()
        if errors:
            raise errors[0]


def add_frame_callback(session: ExplorerSession, poll, period_ms: int = FRAME_PERIOD_MS) -> None:
    """Run ``poll`` on the session's event loop every ``period_ms``; stop it when the session closes.

    The callback is a *background* one: it does not mark the app busy. Panel keeps one busy flag per process
    and, whenever it flips, sets the busy indicator of every open session; a foreground callback 50 times a
    second in each of 30 sessions would make that 30 x 30 x 100 model updates a second, each with Panel's
    stylesheet checks (a ``getcwd`` and a ``stat`` per update, seen in a profile of the server).
    The poll runs under ``pn.io.hold``: its grid, status and trace changes leave as one websocket message."""
    if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return
    from panel.io.callbacks import PeriodicCallback

    def frame():  # everything one poll changes goes to the page as one message, not one per change
        with pn.io.hold():
            poll()

    callback = PeriodicCallback(callback=frame, period=period_ms, background=True)
    callback.start()
    session.on_close(callback.stop)


def drop_orphaned_socket_writes() -> None:
    """Keep the server log free of ``Task exception was never retrieved ... WebSocketClosedError`` when a tab
    closes while a frame is being pushed.

    Panel 1.9's ``dispatch_tornado`` writes one message as several ``write_message`` calls. When the browser
    drops the connection, the first call returns a task that later fails, and the next call raises at once
    (Tornado checks the closed stream synchronously), so Panel never awaits the first task and asyncio logs its
    exception with a traceback when the task is collected. The frame itself is lost either way: Panel already
    logs "Failed sending message as connection was closed" for it. This handler, installed once on the server's
    event loop, drops only that record (a ``WebSocketClosedError`` of a write task) and passes every other one
    to the handler that was there before."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop: not served
        return
    previous = loop.get_exception_handler()
    if getattr(previous, "drops_orphaned_socket_writes", False):
        return
    from tornado.websocket import WebSocketClosedError

    def handler(loop, context):
        if isinstance(context.get("exception"), WebSocketClosedError):
            log.debug("dropped an unawaited write to a closed websocket")
            return
        if previous is None:
            loop.default_exception_handler(context)
        else:
            previous(loop, context)

    handler.drops_orphaned_socket_writes = True
    loop.set_exception_handler(handler)


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    builder: str  # "package.module:function", the function taking an ExplorerSession and returning the page
    about: str

    def build(self, session: ExplorerSession):
        """Import the page's module (the first time) and build the page for ``session``. The catalogue calls
        the build makes without naming an owner act for the session's owner (``catalog.owned_by``)."""
        with owned_by(session.owner):
            return pkgutil.resolve_name(self.builder)(session)


PAGES: dict[str, Page] = {page.slug: page for page in (  # sidebar order
    Page("morph", "Morph", "rbm_explorer.app.morph_page:build_morph_page",
         "Flip released hidden units and watch digits and faces morph (Fernandez-de-Cossio-Diaz, Cocco and "
         "Monasson 2023, Figs. 6, 8c, 9e)."),
    Page("train", "Train", "rbm_explorer.app.train_page:build_train_page",
         "Train an RBM with PCD, CD or Rdm, with linear or quadratic label constraints, and watch its samples and "
         "constraint residual live (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Eqs. 6-10)."),
    Page("ising", "Ising", "rbm_explorer.app.ising_page:build_ising_page",
         "A live 2D Ising lattice: move β across β_c and switch Metropolis, Wolff and hybrid sampling, the sign of "
         "J and the field h (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Sec. V)."),
    Page("models", "Models", "rbm_explorer.app.models_page:build_models_page",
         "Open, upload and inspect model files: units, constraint, released units, metrics and the weight "
         "pictures of the hidden units (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Figs. 3, 8)."),
    Page("spectrum", "Spectrum", "rbm_explorer.app.spectrum_page:build_spectrum_page",
         "The singular values of W against the Marchenko–Pastur law of a random matrix, over the training "
         "history, and what rotating the eigenvectors does to samples (Toledo-Marin, Maiti, Fox and Melko 2025, "
         "Figs. 3, 6)."),
    Page("landscape", "Landscape", "rbm_explorer.app.landscape_page:build_landscape_page",
         "The energy of each mode in reciprocal space with its saddle, the test data and live Gibbs chains on it, "
         "a random RBM beside the trained one, and the free energy along the top mode (Toledo-Marin, Maiti, Fox "
         "and Melko 2025, Figs. 2, 7, 8)."),
)}


def ordered_pages() -> list[Page]:
    """The pages in sidebar order."""
    return list(PAGES.values())
