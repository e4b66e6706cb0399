"""Training: one loop (PCD, CD, Rdm), optimizers and weight constraints."""
