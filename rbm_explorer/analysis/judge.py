"""An independent judge of generated samples: a classifier trained on real labelled data, never on an RBM.

The morph tests (Fig. 8c, 9e), the app's class-probability trace and the browser tests all ask the same
question - "which class does this sample show?" - so they share this one judge. It is a logistic regression
(C = 0.1) on the dataset's training split, in the dataset's own encoding, cached per dataset spec because
the app asks for it in every session.

``label_direction`` gives the first-order label vector q the Morph page projects chains on: q(1) for two
classes (Eq. 6), q_d for class d of a multi-class label (Eq. 26).
"""

from __future__ import annotations

import functools
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rbm_explorer.datasets import Dataset, load_dataset
from rbm_explorer.training.constraints import linear_vector

JUDGE_OPTIONS = ("digits", "attribute", "size", "n_samples", "threshold")


def dataset_options(spec: dict) -> dict:
    """The ``load_dataset`` keyword options of a model's ``dataset`` metadata (name and label names dropped)."""
    return {k: v for k, v in spec.items() if k in JUDGE_OPTIONS}


@functools.lru_cache(maxsize=8)
def _dataset(spec_json: str) -> Dataset:
    spec = json.loads(spec_json)
    return load_dataset(spec["name"], **dataset_options(spec))


def dataset_for(spec: dict) -> Dataset:
    """The dataset a model was trained on, from its ``dataset`` metadata (cached)."""
    return _dataset(json.dumps(spec, sort_keys=True))


@dataclass(frozen=True)
class Judge:
    """Predicts class probabilities of natural visible states (n x N) -> (n x D)."""

    class_names: tuple[str, ...]
    model: object
    test_accuracy: float

    def probabilities(self, v: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(np.asarray(v, dtype=np.float64))

    def classes(self, v: np.ndarray) -> np.ndarray:
        return np.argmax(self.probabilities(v), axis=1)


@functools.lru_cache(maxsize=8)
def _judge(spec_json: str) -> Judge:
    from sklearn.linear_model import LogisticRegression

    data = _dataset(spec_json)
    x, y = data.part("train")
    x_test, y_test = data.part("test")
    model = LogisticRegression(max_iter=2000, C=0.1).fit(x.astype(np.float64), y)
    accuracy = float(np.mean(model.predict(x_test.astype(np.float64)) == y_test))
    return Judge(tuple(data.label_names), model, accuracy)


def class_judge(spec: dict) -> Judge:
    """The judge for a model's ``dataset`` metadata, e.g. ``{"name": "mnist", "digits": "0,1"}``."""
    if not spec or "name" not in spec:
        raise ValueError("this model records no dataset, so there is no classifier to judge its samples")
    return _judge(json.dumps(spec, sort_keys=True))


_POOL = None
_FUTURES: dict = {}
_POOL_LOCK = threading.Lock()


def class_judge_future(spec: dict) -> Future:
    """``class_judge(spec)`` computed in a background thread (one per process), so that an interactive caller
    never waits for the fit: the app polls the future. Repeated calls share one future per dataset spec."""
    global _POOL
    key = json.dumps(spec, sort_keys=True)
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rbm-judge")
        if key not in _FUTURES:
            _FUTURES[key] = _POOL.submit(class_judge, spec)
        return _FUTURES[key]


def label_direction(spec: dict, target_class: int = 1) -> np.ndarray:
    """q for ``target_class``: q(1) = <u v> - <u><v> with u = [class == target] (Eqs. 6 and 26), over the
    training split in feature space (n_visible,)."""
    data = dataset_for(spec)
    x, y = data.part("train")
    x = x.astype(np.float64)
    n_classes = len(data.label_names)
    if not 0 <= target_class < n_classes:
        raise ValueError(f"class {target_class} out of range 0..{n_classes - 1}")
    return linear_vector(x, (y == target_class).astype(np.float64))
