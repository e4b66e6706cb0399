"""The explorer's shell: a template with a sidebar of pages, lazy page building and per-session clean-up.

``build_explorer()`` is everything ``apps/explorer.py`` does. For each browser session it

* makes one ``ExplorerSession`` that every page shares;
* shows a loading indicator at once, then builds the first page (Morph) in ``pn.state.onload``, so that a cold
  start, while numba loads or compiles its kernels, never shows a blank page;
* builds other pages the first time they are opened, and shows a page's failure as a message in that page,
  with a retry button, instead of breaking the session;
* holds a slot of ``budget.SESSIONS`` while it lives; a session over the bound gets a page that says so and
  starts no work;
* stops every thread (and checkpoints training) in ``pn.state.on_session_destroyed``;
* reports whether the browser shows the tab (``TabVisibility``), so that a hidden tab's chains wait;
* counts its document in the process's health log (``health``);
* knows who the session is (``identity.session_identity``: the login name or the browser's cookie id), so that
  each page lists and writes only that owner's files, and stores a new id in the cookie (``IdentityCookie``).
"""

from __future__ import annotations

import logging
import os

import holoviews as hv
import panel as pn
import param
from panel.custom import JSComponent

from rbm_explorer.app.budget import SESSIONS, CapacityError
from rbm_explorer.app.health import start_health_log, track_document
from rbm_explorer.app import live_components  # noqa: F401 - every JSComponent class, before any session
from rbm_explorer.app.identity import IdentityCookie, session_identity
from rbm_explorer.app.pages import ExplorerSession, drop_orphaned_socket_writes, ordered_pages
from rbm_explorer.app.style import ACCENT, RAW_CSS

TITLE = "rbm_explorer"
log = logging.getLogger(__name__)


def limit_blas_threads() -> None:
    """Run the server process's BLAS on ``$RBM_EXPLORER_BLAS_THREADS`` threads (default 1).

    Each session's sampler does small products (64 chains x 784 x 400) a few dozen times a second; OpenBLAS's
    worker threads spin after every product, so with the default thread count one Morph session kept a whole
    core busy (1.15 cores measured, against 0.18 with one BLAS thread: benchmarks/app_browser.py). Sessions,
    and ``rbm-explorer serve --num-procs``, give the parallelism instead."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=int(os.environ.get("RBM_EXPLORER_BLAS_THREADS", "1")), user_api="blas")


def _loading(text: str):
    return pn.Column(
        pn.indicators.LoadingSpinner(value=True, size=64, color="primary", label=""),
        pn.pane.Markdown(f"### {text}\nThe sampler's compiled kernels load on first use; this takes a few seconds "
                         "after a fresh install.", css_classes=["loading-message"]),
        css_classes=["page-loading"], margin=40,
    )


class TabVisibility(JSComponent):
    """Nothing to see: it sets ``tab_visible`` from the page's ``document.visibilityState`` whenever the
    browser shows or hides the tab (another tab, a minimised window, a locked screen)."""

    tab_visible = param.Boolean(default=True)

    _esm = """
    export function render({ model }) {
      const report = () => { model.tab_visible = document.visibilityState === "visible"; };
      document.addEventListener("visibilitychange", report);
      report();
      return document.createElement("span");
    }
    """


def serve_styles_locally(document) -> None:
    """Make Panel link this session's stylesheets to this server, as it does for a session whose page it
    rendered.

    With ``--num-procs`` above 1, a page's websocket can reach another process than the one that sent its
    HTML. Bokeh then creates the session anew in that process, from the token, without the HTML render that
    records where Panel's files are (the document's ``dist_url``), and Panel falls back to its CDN for every
    stylesheet of the page: half the pages of a class went to cdn.holoviz.org (benchmarks/classroom.py
    counted it), which an offline classroom cannot reach. The path is the one the HTML render would set."""
    from panel.io.resources import LOCAL_DIST

    variables = document._template_variables
    if "dist_url" not in variables:
        variables["dist_url"] = f"{pn.state.rel_path}/{LOCAL_DIST}" if pn.state.rel_path else LOCAL_DIST


class Explorer:
    """One session's template, navigation and pages."""

    def __init__(self, first_page: str | None = None):
        # the global spinner covers the moment before the first page arrives
        pn.extension(raw_css=[RAW_CSS], notifications=True, global_loading_spinner=True)
        limit_blas_threads()
        drop_orphaned_socket_writes()
        hv.extension("bokeh", logo=False)
        owner, self.browser_id = session_identity()
        self.session = ExplorerSession(owner=owner)
        self.pages = {p.slug: p for p in ordered_pages()}
        self.built: dict[str, object] = {}
        first = first_page
        if first is None and pn.state.curdoc is not None:  # ?page=train opens another page first
            first = (pn.state.session_args.get("page") or [b""])[0].decode(errors="replace")
        self.first = first if first in self.pages else next(iter(self.pages))
        self.main = pn.Column(_loading("Starting the live chains…"), sizing_mode="stretch_width")
        self.nav = pn.widgets.RadioButtonGroup(
            options={p.title: p.slug for p in self.pages.values()}, value=self.first, orientation="vertical",
            color="primary", variant="outline", sizing_mode="stretch_width", css_classes=["page-nav"],
            description="Choose a page")
        self.about = pn.pane.Markdown(self.pages[self.first].about, css_classes=["nav-about"])
        self.nav.param.watch(lambda event: self.show(event.new), "value")

    def show(self, slug: str) -> None:
        page = self.pages[slug]
        self.session.active_page = slug
        self.about.object = page.about
        if slug not in self.built:
            self.main.objects = [_loading(f"Opening {page.title}…")]
            try:
                self.built[slug] = page.build(self.session)
            except Exception as exc:  # show it in the page; the other pages keep working
                log.exception("page %s failed to build", slug)
                self.main.objects = [self._retry(slug, f"{type(exc).__name__}: {exc}", "danger")]
                return
        self.main.objects = [self.built[slug]]

    def _retry(self, slug: str, message: str, kind: str):
        button = pn.widgets.Button(label="Try again", color="primary", description="Try to open this page again")
        button.on_click(lambda event: self.show(slug))
        return pn.Column(pn.pane.Alert(message, alert_type=kind, css_classes=["page-error"]), button)

    def template(self):
        sidebar = [pn.pane.Markdown("### Pages"), self.nav, self.about,
                   pn.pane.Markdown("Restricted Boltzmann Machines and the physics they learn. "
                                    "Every page is also a library function and an `rbm-explorer` command.",
                                    css_classes=["sidebar-note"])]
        visibility = TabVisibility(width=0, height=0, margin=0, css_classes=["tab-visibility"])
        visibility.param.watch(lambda event: setattr(self.session, "tab_visible", event.new), "tab_visible")
        sidebar.append(visibility)
        if self.browser_id:
            sidebar.append(IdentityCookie(browser_id=self.browser_id, width=0, height=0, margin=0,
                                          css_classes=["identity-cookie"]))
        # Bootstrap: every script and style of this template is bundled with Panel and served locally (the Fast
        # templates add a web font from fonts.googleapis.com, which would break offline use).
        template = pn.template.BootstrapTemplate(
            title=TITLE, sidebar=sidebar, main=[self.main], header_background=ACCENT, sidebar_width=270,
            busy_indicator=None,  # Panel syncs every session's indicator with one process-wide busy flag
        )
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            serve_styles_locally(pn.state.curdoc)
            start_health_log()
            track_document(pn.state.curdoc)
            try:
                SESSIONS.acquire(self.session)
            except CapacityError as exc:
                self.main.objects = [pn.pane.Alert(f"{exc} Please try again in a few minutes.", alert_type="warning",
                                                   css_classes=["page-error", "server-full"])]
                self.nav.disabled = True  # a session without a slot builds no page
                return template
            self.session.on_close(lambda: SESSIONS.release(self.session))
            pn.state.onload(lambda: self.show(self.first))
            pn.state.on_session_destroyed(lambda context: self.session.close())
        else:
            self.show(self.first)
        return template


def build_explorer(first_page: str | None = None):
    """The explorer app for the current session (``apps/explorer.py`` serves this)."""
    return Explorer(first_page).template()
