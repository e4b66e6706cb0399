"""Gradient-ascent optimizers over a list of parameter arrays, updated in place.

Both keep their state as plain arrays (``state_arrays`` / ``load_state_arrays``) so that checkpoints can store
it in an ``.npz`` and a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import numpy as np


class SGD:
    """w += lr * g (ascent), optionally with momentum: m = mu m + g; w += lr * m."""

    def __init__(self, params: list[np.ndarray], momentum: float = 0.0):
        self.params = params
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in params] if momentum else None
        self.steps = 0

    def step(self, grads: list[np.ndarray], lr: float) -> None:
        self.steps += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.velocity is not None:
                self.velocity[i] *= self.momentum
                self.velocity[i] += g
                g = self.velocity[i]
            p += lr * g

    def state_arrays(self) -> dict[str, np.ndarray]:
        out = {"optimizer_steps": np.array(self.steps)}
        if self.velocity is not None:
            out.update({f"optimizer_velocity_{i}": v for i, v in enumerate(self.velocity)})
        return out

    def load_state_arrays(self, arrays: dict) -> None:
        self.steps = int(arrays["optimizer_steps"])
        if self.velocity is not None:
            for i, v in enumerate(self.velocity):
                v[...] = arrays[f"optimizer_velocity_{i}"]


class Adam:
    """Adam (Kingma & Ba 2015) for ascent: w += lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params: list[np.ndarray], beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.params = params
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.steps = 0

    def step(self, grads: list[np.ndarray], lr: float) -> None:
        self.steps += 1
        b1, b2 = self.beta1, self.beta2
        correction = np.sqrt(1 - b2**self.steps) / (1 - b1**self.steps)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p += lr * correction * m / (np.sqrt(v) + self.eps)

    def state_arrays(self) -> dict[str, np.ndarray]:
        out = {"optimizer_steps": np.array(self.steps)}
        out.update({f"optimizer_m_{i}": m for i, m in enumerate(self.m)})
        out.update({f"optimizer_v_{i}": v for i, v in enumerate(self.v)})
        return out

    def load_state_arrays(self, arrays: dict) -> None:
        self.steps = int(arrays["optimizer_steps"])
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            m[...] = arrays[f"optimizer_m_{i}"]
            v[...] = arrays[f"optimizer_v_{i}"]


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, params: list[np.ndarray], **options):
    try:
        return OPTIMIZERS[name](params, **options)
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}") from None
