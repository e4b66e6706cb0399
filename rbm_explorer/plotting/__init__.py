"""Static figures the CLI writes without a server: PNG files drawn with matplotlib's Agg canvas (never pyplot, so
no global state changes and drawing is thread-safe) and standalone HTML pages drawn with bokeh, with inline
resources so that they open offline.

* :mod:`rbm_explorer.plotting.sweep_figure`: the observables of an Ising β sweep against β, with the exact
  curves of Onsager (1944), Yang (1952) and Ferdinand and Fisher (1969).
"""
