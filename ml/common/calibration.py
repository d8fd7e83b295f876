"""How honest a classifier's probabilities are, and temperature scaling to make them more so.

A leaf module (numpy and scipy only): serving (``ml.classify.inference``, ``ml.faces.model``) and judging
(the web app's retrain) both use it without importing each other.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities divided in log space by ``temperature`` (> 1 makes them less sure); argmax unchanged."""
    logp = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, None)) / float(temperature)
    logp -= logp.max(axis=-1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=-1, keepdims=True)


def fit_temperature(y_true, probs, bounds=(1.0, 5.0)) -> float:
    """The temperature in ``bounds`` that minimises the negative log-likelihood of ``y_true``.

    Only softening (>= 1) is allowed: a small holdout a model gets all right would otherwise
    drive it towards 0, making every answer "100 %".
    """
    y, probs = np.asarray(y_true), np.asarray(probs, np.float64)
    if len(y) == 0:
        return 1.0

    def nll(t):
        return -np.log(np.clip(soften(probs, t)[np.arange(len(y)), y], 1e-12, None)).mean()

    return float(minimize_scalar(nll, bounds=bounds, method="bounded").x)


def expected_calibration_error(y_true, probs, bins: int = 10) -> float:
    """Mean |confidence - accuracy| over confidence bins, weighted by how many answers fall in each."""
    y, probs = np.asarray(y_true), np.asarray(probs, np.float64)
    if len(y) == 0:
        return 0.0
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - right[inside].mean())
    return float(total)


def calibration(y_true, probs) -> dict:
    """The temperature fitted on a holdout and the reliability of the probabilities before and after."""
    t = fit_temperature(y_true, probs)
    after = soften(probs, t)
    return {
        "temperature": round(t, 4),
        "fitted_on": "holdout",
        "n": int(len(y_true)),
        "ece_before": round(expected_calibration_error(y_true, probs), 4),
        "ece_after": round(expected_calibration_error(y_true, after), 4),
        "share_above_99_before": round(float((np.asarray(probs).max(axis=1) > 0.99).mean()), 4)
        if len(probs)
        else 0.0,
        "share_above_99_after": round(float((after.max(axis=1) > 0.99).mean()), 4)
        if len(after)
        else 0.0,
    }
