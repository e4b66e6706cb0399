"""Gibbs sampling: the engine (explicit chain state, clamps) and the background worker thread."""

from rbm_explorer.sampling.gibbs import ChainState, GibbsEngine, as_generator, live_engines
from rbm_explorer.sampling.worker import SamplerWorker, Snapshot

__all__ = ["ChainState", "GibbsEngine", "as_generator", "live_engines", "SamplerWorker", "Snapshot"]
