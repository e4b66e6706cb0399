"""Unit kinds: one class each, one interface (``Layer``), found by name through ``layer_class``."""

from rbm_explorer.layers.base import LAYER_KINDS, Layer, layer_class, layer_for_role, layer_kinds, option_names, register_layer
from rbm_explorer.layers.binary import Binary
from rbm_explorer.layers.gaussian import Gaussian
from rbm_explorer.layers.label import Label
from rbm_explorer.layers.potts import Potts
from rbm_explorer.layers.spin import Spin

__all__ = ["Layer", "LAYER_KINDS", "layer_class", "register_layer", "layer_kinds", "layer_for_role", "option_names", "Binary", "Spin", "Potts", "Gaussian", "Label"]
