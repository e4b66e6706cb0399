"""Reports that reproduce the papers' figures from the library: Fig. 7 of Fernandez-de-Cossio-Diaz, Cocco and
Monasson (2023) (``fig7``)."""
