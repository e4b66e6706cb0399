"""What the Spectrum and Landscape pages share: the models they offer, the model they open first, work run once
on the shared pool, and the colours of classes.

A page's slow piece of work (loading a dataset the first time: seconds for faces, more for Ising data not yet
cached; rotating the eigenvectors of a 2304 x 400 W: seconds) runs as a ``OneStep`` computation on a ``Runner``
of the process's shared pool (``live.shared_pool``), never on the session's event loop, which serves every
session of the process. ``BackgroundJob`` starts one and hands its result to the page's ``poll``; a newer
request drops the older one (it never starts if a worker has not taken it yet).
"""

from __future__ import annotations

from pathlib import Path

from rbm_explorer.analysis.spectra.interactive import OneStep, OneStepResult
from rbm_explorer.app.models_state import catalogue_choices
from rbm_explorer.catalog import CURRENT, entry_for
from rbm_explorer.live import Runner, shared_pool

PREFERRED_MODELS = ("mnist01_none", "mnist01_linear_released1")  # the pages open an unconstrained MNIST 0/1 first
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")  # as the static figures (plotting.spectra_figure)
SADDLE_COLOR = "gold"
CHAIN_COLOR = "#222222"
BULK_COLOR = "#f4a582"


def model_choices(owner=CURRENT, extra: str = "") -> dict[str, str]:
    """Label -> path of every model the owner may open (bundled, own, shared), as the Models page lists them;
    ``extra`` (a path not among them, e.g. a model opened elsewhere) is added under its file name."""
    choices = catalogue_choices(owner=owner)
    if extra and extra not in choices.values() and Path(extra).is_file():
        choices[f"{Path(extra).stem} (opened file)"] = str(extra)
    return choices


def first_model(choices: dict[str, str], opened: str = "") -> str:
    """The path a page opens first: the model the user opened last on another page, else an unconstrained
    MNIST 0/1 model, else the first listed."""
    paths = list(choices.values())
    if not paths:
        raise ValueError("no models to show: the bundled models folder is empty")
    if opened in paths:
        return opened
    for stem in PREFERRED_MODELS:
        for path in paths:
            if Path(path).stem == stem:
                return path
    return paths[0]


def load_model_file(path: str):
    """The model file at ``path`` (validated and cached per modification time by the catalogue)."""
    return entry_for(path).load()


class BackgroundJob:
    """At most one piece of work of a page at a time, on the shared pool. ``start`` queues ``work(*args)``
    (dropping the previous request); ``take`` returns the finished ``OneStepResult`` once, with the request's
    ``tag``, and None while it runs or when there is none."""

    def __init__(self, name: str):
        self.name = name
        self._runner: Runner | None = None
        self._tag = None

    def start(self, tag, work, *args) -> None:
        self.cancel()
        self._tag = tag
        self._runner = Runner(OneStep(work, *args), steps_per_second=None, publish_hz=10.0, name=self.name,
                              policy=shared_pool())
        self._runner.start()

    @property
    def busy(self) -> bool:
        return self._runner is not None

    @property
    def tag(self):
        return self._tag

    def take(self) -> tuple[object, OneStepResult] | None:
        runner = self._runner
        if runner is None:
            return None
        snap = runner.snapshot()
        if snap is None or not (snap.done or snap.error):
            return None
        self._runner = None
        return self._tag, snap

    def cancel(self) -> None:
        """Drop the request: it does not start if no worker has taken it; a running step ends unseen."""
        if self._runner is not None:
            self._runner.stop(timeout=0)
            self._runner = None
