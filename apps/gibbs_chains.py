"""Live Gibbs chains of the bundled single-hidden-unit Ising RBM. Serve with ``rbm-explorer serve`` or
``panel serve apps/gibbs_chains.py``."""

from rbm_explorer.app.chain_page import build_chain_page

build_chain_page().servable(title="rbm_explorer: live Gibbs chains")
