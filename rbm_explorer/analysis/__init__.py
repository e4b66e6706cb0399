"""Partition functions, spectra and metrics computed from models (exact enumeration for now)."""
