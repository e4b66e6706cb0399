"""The Models page (being written)."""
