"""The ``rbm-explorer`` command line."""
