"""Walks through the classes of a model with released hidden units (PRX 2023, Figs. 8c and 9e).

A walk clamps the released units to the setting that generates each class in turn - unit d on and the others
off for class d, all off for the class no unit stands for - runs the chains for a number of sweeps from where
the previous phase ended, and asks an independent judge which class each chain shows at the end of the phase.
A chain the judge calls *unclear* (noise, a blend of two classes) counts as a miss.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.sampling import GibbsEngine


def released_setting(released_classes, target_class: int) -> list[bool]:
    """Which released units are on to generate ``target_class``: those whose high state generates it."""
    return [c == target_class for c in released_classes]


def class_walk(rbm, judge, released_units, released_classes, sequence, steps: int = 500, n_chains: int = 64,
               seed=0, init_v=None, keep_states: bool = False, progress=None):
    """Fraction of chains the judge assigns to each target class of ``sequence`` at the end of its phase.

    ``judge`` has ``outcomes(v) -> (n,) class indices, -1 for unclear`` (``rbm_explorer.analysis.judge.Judge``),
    so an unclear chain is a miss; released units
    are two-state hidden units clamped to their high or low value. With ``keep_states`` it returns
    ``(shares, states)``, the visible states at the end of each phase; ``progress(n_sweeps)`` is called as
    sweeps are done."""
    hidden = rbm.hidden
    low, high = hidden.value_range
    engine = GibbsEngine(rbm, n_chains, seed=seed, init_v=init_v)
    shares, states = [], []
    for target in sequence:
        values = [high if on else low for on in released_setting(released_classes, target)]
        engine.clamp("h", list(released_units), values)
        for done in range(0, steps, 50):
            engine.step(min(50, steps - done))
            if progress is not None:
                progress(min(50, steps - done))
        v = engine.visible_states()
        shares.append(float(np.mean(judge.outcomes(v) == target)))
        states.append(v)
    return (shares, states) if keep_states else shares


def released_modes_from_clamps(clamped: dict, units, low: float, high: float) -> list[str]:
    """'on', 'off', 'free' (or 'mixed' when chains disagree) for each released unit, from a snapshot's clamps."""
    modes = []
    for unit in units:
        values = clamped.get(unit)
        if values is None:
            modes.append("free")
        elif np.all(values == high):
            modes.append("on")
        elif np.all(values == low):
            modes.append("off")
        else:
            modes.append("mixed")
    return modes


def released_setting_for_class(released_classes, target_class: int | None) -> list[str]:
    """Modes of the released units that generate ``target_class`` (Figs. 8c and 9e): a unit is on when its
    high state generates that class and off otherwise; all off generates the class no unit stands for.
    ``None`` (starting from noise) leaves every unit free."""
    if target_class is None:
        return ["free"] * len(released_classes)
    return ["on" if on else "off" for on in released_setting(released_classes, target_class)]


def test_images_of_class(spec: dict, target: int, n: int, seed=0) -> np.ndarray:
    """``n`` test images of class ``target`` (natural states) of the dataset a model was trained on (its
    ``dataset`` metadata), drawn with ``seed``; with replacement when the class has fewer than ``n``. The chains
    of the Morph page start from them."""
    from rbm_explorer.analysis.judge import dataset_for

    x, y = dataset_for(spec).part("test")
    pool = x[y == target]
    if len(pool) == 0:
        raise ValueError(f"the test split of {spec.get('name')} has no image of class {target}")
    rng = np.random.default_rng(seed)
    return pool[rng.choice(len(pool), size=n, replace=len(pool) < n)]
