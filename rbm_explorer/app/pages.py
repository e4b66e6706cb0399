"""The explorer's page registry: adding a page is one decorated function.

A page is a builder ``build(session) -> viewable`` registered with a slug, a sidebar title, an order and a short
"what am I looking at" text. Later capabilities (Ising, spectra, evaluation) add a module that registers its
page and import it in ``rbm_explorer.app.page_modules``; the shell (``explorer.py``) builds pages lazily, the
first time a user opens them, and closes whatever they registered with the session when the session ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import param


class ExplorerSession(param.Parameterized):
    """What the pages of one browser session share: things to close when the session ends, and the model
    file the user opened last (the Models and Train pages set it, the Morph page can switch to it)."""

    opened_model = param.String(default="", doc="Path of the model the user opened or saved last")
    active_page = param.String(default="", doc="Slug of the page on screen")

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


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    order: int
    about: str
    build: Callable[[ExplorerSession], object]


PAGES: dict[str, Page] = {}


def register_page(slug: str, title: str, order: int, about: str):
    """Decorator: register ``build(session)`` as a page of the explorer."""

    def wrap(build):
        PAGES[slug] = Page(slug, title, order, about, build)
        return build

    return wrap


def ordered_pages() -> list[Page]:
    from rbm_explorer.app import page_modules  # noqa: F401  (registers the pages)

    return sorted(PAGES.values(), key=lambda p: p.order)
