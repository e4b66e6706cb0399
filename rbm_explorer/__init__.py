"""rbm_explorer: Restricted Boltzmann Machines and the physics they learn.

Layers (``rbm_explorer.layers``) -> the generic ``RBM`` -> the Gibbs engine and its background worker
(``rbm_explorer.sampling``) -> model files (``rbm_explorer.io``), exact results (``rbm_explorer.analysis``),
the command line (``rbm_explorer.cli``) and the Panel app (``rbm_explorer.app``).
"""

__version__ = "0.1.0"

from rbm_explorer.rbm import RBM  # noqa: E402

__all__ = ["RBM", "__version__"]
