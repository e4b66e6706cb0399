"""The 2D Ising model: lattice samplers, observables with error bars, exact references, β sweeps and data.

The project's physics ground truth (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Sec. V): E = −J Σ_⟨ij⟩ s_i s_j
− h Σ_i s_i on an L×L periodic lattice.
"""
