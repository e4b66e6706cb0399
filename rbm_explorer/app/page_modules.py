"""Importing this module registers every page of the explorer (one import per page module, in menu order)."""

from rbm_explorer.app import morph_page  # noqa: F401
from rbm_explorer.app import train_page  # noqa: F401
from rbm_explorer.app import models_page  # noqa: F401
