"""The Train page (being written)."""
