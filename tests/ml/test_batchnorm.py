"""Batch-norm statistics after training are the exact statistics of the training images."""

from __future__ import annotations

import numpy as np

from ml.classify import batchnorm, classifier


def tiny_cnn():
    """Two conv + batch-norm blocks with dropout between them, as the custom CNN builds them."""
    config = classifier.load_config(
        {
            "preprocessing": {"image_size": [16, 16]},
            "model": {"filters": [4, 6], "dropout": 0.5, "dense": [8]},
        }
    )
    return classifier.build_model(config, 2)


def batches(images, weights, size=5):
    """(images, labels, weights) batches as ml.classify.data.make_dataset yields them."""
    for i in range(0, len(images), size):
        yield (
            images[i : i + size],
            np.zeros(len(images[i : i + size]), "int32"),
            weights[i : i + size],
        )


def test_calibrate_sets_each_layer_to_its_inputs_exact_moments_in_inference_mode():
    import keras

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (23, 16, 16, 3)).astype("float32")
    weights = np.ones(23, "float32")
    weights[3] = 0.0  # a file that failed to decode: a black image of weight 0
    images[3] = 0.0
    model = tiny_cnn()
    layers = batchnorm.calibrated_layers(model)
    assert [layer.name for layer in layers] == ["block1_bn1", "block2_bn1"]
    for layer in layers:  # stale statistics, as a short fit leaves them
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 5.0, "float32"))
        layer.moving_variance.assign(np.full(layer.moving_variance.shape, 50.0, "float32"))

    assert batchnorm.calibrate(model, list(batches(images, weights))) == 2

    kept = images[weights > 0]
    for (
        layer
    ) in layers:  # measured after the earlier layers were fixed, so checked in the same order
        x = np.asarray(
            keras.Model(model.input, layer.input)(kept, training=False), dtype=np.float64
        )
        x = x.reshape(-1, x.shape[-1])
        np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(axis=0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            layer.moving_variance.numpy(), x.var(axis=0), rtol=1e-4, atol=1e-5
        )
    # Inference now centres the training images' features in every channel (scale: var / (var + eps)).
    last = layers[-1]
    after = np.asarray(
        keras.Model(model.input, last.output)(kept, training=False), dtype=np.float64
    )
    normalised = (after.reshape(-1, after.shape[-1]) - last.beta.numpy()) / last.gamma.numpy()
    variance = last.moving_variance.numpy()
    np.testing.assert_allclose(normalised.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(
        normalised.var(axis=0), variance / (variance + last.epsilon), rtol=1e-3
    )


def test_calibrate_leaves_a_model_without_trainable_batchnorm_alone():
    config = classifier.load_config(
        {
            "preprocessing": {"image_size": [16, 16]},
            "model": {"filters": [4], "batchnorm": False, "dense": []},
        }
    )
    model = classifier.build_model(config, 2)
    assert batchnorm.calibrate(model, iter(())) == 0
