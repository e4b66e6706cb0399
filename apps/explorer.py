"""The rbm_explorer app: Morph, Train and Models pages. Serve with ``rbm-explorer serve`` or
``panel serve apps/explorer.py``."""

from rbm_explorer.app.shell import build_explorer

build_explorer().servable(title="rbm_explorer")
