"""Exact batch-norm statistics for a trained network, so it serves with the statistics of its data.

During ``fit`` a batch-norm layer's moving mean and variance are an exponential average over
augmented training batches while the weights still move. On a short run (a retrain on a few
hundred images is 2 to 5 steps per epoch) that average is still far from the statistics of the
final network: a model that ranks its holdout almost perfectly (ROC-AUC 0.997) answers with a
shifted threshold (accuracy 0.62). Forward passes in training mode do not cure it either: they
keep averaging, and dropout is active, which inflates the variance the next layer sees.

``calibrate`` replaces the moving statistics by the exact per-channel mean and (biased)
variance of each layer's input over the given images, with the network in inference mode,
layer by layer in graph order, so each layer is measured after the layers before it are fixed.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = ["calibrate", "calibrated_layers"]


def calibrated_layers(model: keras.Model) -> list:
    """The batch-norm layers of ``model``'s own graph whose statistics training moved (frozen ones keep theirs)."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def calibrate(model: keras.Model, dataset) -> int:
    """Set each trainable batch-norm layer's moving mean/variance to the exact statistics over ``dataset``.

    ``dataset`` yields ``(images, labels, weights)`` batches (``ml.classify.data.make_dataset``); images
    of weight 0 (files that failed to decode) are left out. Returns how many layers were set.
    """
    layers = calibrated_layers(model)
    for layer in layers:
        probe = keras.Model(model.input, layer.input, name=f"{layer.name}_input")
        mean, variance = input_moments(probe, dataset, layer.axis)
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(variance.astype("float32"))
    return len(layers)


def input_moments(probe: keras.Model, dataset, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the per-channel mean and biased variance of ``probe``'s output over ``dataset`` (inference mode).

    Each batch is reduced where it was computed (only per-channel vectors come back); batches
    are merged with Chan's parallel formula in float64, so the result does not depend on the
    batch size and keeps its precision on large data.
    """
    count, mean, m2 = 0, None, None
    for images, _, weights in dataset:
        keep = np.flatnonzero(np.asarray(weights) > 0)
        if not len(keep):
            continue
        x = keras.ops.cast(probe(images, training=False), "float32")
        x = x if len(keep) == x.shape[0] else keras.ops.take(x, keep, axis=0)
        axes = [i for i in range(len(x.shape)) if i != axis % len(x.shape)]
        batch_mean, batch_var = (
            np.asarray(v, dtype=np.float64) for v in keras.ops.moments(x, axes)
        )
        n = int(np.prod([x.shape[i] for i in axes]))
        if mean is None:
            count, mean, m2 = n, batch_mean, batch_var * n
            continue
        total, delta = count + n, batch_mean - mean
        mean = mean + delta * n / total
        m2 = m2 + batch_var * n + delta**2 * count * n / total
        count = total
    if mean is None:
        raise ValueError(
            "Cannot calibrate batch normalization on an empty data set. Received: 0 usable images"
        )
    return mean, m2 / count
