"""Spectra and reciprocal space of RBM weights (Toledo-Marin, Maiti, Fox and Melko 2025).

* ``marchenko_pastur``: the singular-value law of a random weight matrix, its edges and CDF;
* ``reciprocal``: the SVD of W, the reciprocal variables x = Uᵀv and y = Vᵀh, the rotated fields, the energy
  per mode, its saddle and Hessian;
* ``symmetry``: excess kurtosis with its −6/(n+2) reference, the Jensen–Shannon divergence of W against a
  randomly rotated W, and the rotation of the eigenvectors (Fig. 6);
* ``free_energy``: −log p(x_k) along a mode and the projection summaries kept at training snapshots;
* ``landscape``: the points, ranges and random counterpart of a landscape plot;
* ``history``: the spectrum of a model file and its training history, in one record (``spectrum_report``).
"""

from rbm_explorer.analysis.spectra.free_energy import (ProjectionSummary, free_energy_from_counts, mode_free_energy,
                                                       projection_free_energy,
                                                       summarize_projections, well_count)
from rbm_explorer.analysis.spectra.history import sigma_w_of, snapshot_basis, spectrum_report, weight_shape_note
from rbm_explorer.analysis.spectra.landscape import (DEFAULT_MODES, ModeView, hidden_means, mode_view, modes_to_show,
                                                      project, random_like, sample_hidden)
from rbm_explorer.analysis.spectra.marchenko_pastur import (count_above_edge, log_bins, mp_cdf, mp_density, mp_edges,
                                                             spectrum_histogram)
from rbm_explorer.analysis.spectra.reciprocal import (FIELD_CHOICES, FIELD_LABELS, ReciprocalBasis, Saddles,
                                                      check_bilinear, oriented_svd)
from rbm_explorer.analysis.spectra.symmetry import (ROTATIONS, excess_kurtosis, haar_kurtosis_reference,
                                                    haar_orthogonal, js_divergence, resample_visible,
                                                    rotate_eigenvectors, rotation_js_divergence,
                                                    uniform_binary_kurtosis)

__all__ = [
    "DEFAULT_MODES", "ModeView", "hidden_means", "mode_view", "modes_to_show", "project", "random_like", "sample_hidden",
    "FIELD_CHOICES", "FIELD_LABELS", "ProjectionSummary", "ROTATIONS", "ReciprocalBasis", "Saddles", "check_bilinear",
    "count_above_edge", "excess_kurtosis", "free_energy_from_counts", "haar_kurtosis_reference", "haar_orthogonal",
    "js_divergence", "log_bins", "spectrum_histogram", "mode_free_energy", "projection_free_energy", "mp_cdf", "mp_density", "mp_edges", "oriented_svd", "resample_visible",
    "rotate_eigenvectors", "rotation_js_divergence", "sigma_w_of", "snapshot_basis", "spectrum_report",
    "summarize_projections", "weight_shape_note", "uniform_binary_kurtosis", "well_count",
]
