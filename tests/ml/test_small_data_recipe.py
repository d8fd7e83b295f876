"""The from-scratch CNN's small-data recipe: a learning-rate warm-up and weight averaging."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ml.classify import classifier, train
from tests.ml.conftest import CONFIGS


def rates(callbacks, epochs: int, start_lr: float = 1.0) -> list[float]:
    """The learning rate each epoch under the LearningRateScheduler among ``callbacks``."""
    scheduler = next(c for c in callbacks if isinstance(c, keras.callbacks.LearningRateScheduler))
    out, lr = [], start_lr
    for epoch in range(epochs):
        lr = scheduler.schedule(epoch, lr)
        out.append(lr)
    return out


def test_warmup_rises_linearly_to_the_schedule_then_follows_it():
    piecewise = {"type": "piecewise", "boundaries": [5], "values": [0.001, 0.0005]}
    got = rates(classifier.schedule_callbacks(piecewise, 0.001, 8, warmup_epochs=3), 8)
    np.testing.assert_allclose(
        got, [0.00025, 0.0005, 0.00075, 0.001, 0.001, 0.0005, 0.0005, 0.0005]
    )
    np.testing.assert_allclose(
        rates(classifier.schedule_callbacks(None, 0.01, 4, warmup_epochs=1), 4),
        [0.005, 0.01, 0.01, 0.01],
    )
    assert classifier.schedule_callbacks(None, 0.01, 4) == []
    # a plateau schedule takes over from the base rate once the warm-up is over
    plateau = classifier.schedule_callbacks({"type": "plateau"}, 0.01, 6, warmup_epochs=2)
    assert any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in plateau)
    np.testing.assert_allclose(rates(plateau, 4, start_lr=0.01), [0.01 / 3, 0.02 / 3, 0.01, 0.01])


def test_weight_average_serves_the_bias_corrected_average_of_epoch_end_weights():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
    averager = train.WeightAverage(window=3)  # decay 0.5
    averager.set_model(model)
    kernel = model.get_layer("d").kernel
    seen = []
    for epoch, value in enumerate([4.0, 2.0, 1.0]):
        kernel.assign(np.full((2, 1), value, "float32"))
        seen.append(value)
        averager.on_epoch_end(epoch)
    averager.on_train_end()
    # weights 0.25, 0.5, 1 (newest) normalised: (4 * 0.25 + 2 * 0.5 + 1) / 1.75
    np.testing.assert_allclose(kernel.numpy(), np.full((2, 1), 3.0 / 1.75), rtol=1e-6)


def test_averaging_refuses_to_compete_with_restored_best_weights():
    training = {
        "average_epochs": 5,
        "early_stopping": {"monitor": "val_loss", "restore_best_weights": True},
    }
    with pytest.raises(ValueError, match="restore_best_weights"):
        train.averaging(training, last_phase=True)
    assert train.averaging({**training, "average_epochs": 0}, last_phase=True) == []
    assert train.averaging({"average_epochs": 5}, last_phase=False) == []


@pytest.mark.parametrize("name", ["custom_cnn", "celeba_gender_cnn", "celeba_smiling_cnn"])
def test_the_cnn_configs_train_one_network_with_one_recipe_in_the_retrain_path(name):
    """With the task's labels given (as a retrain gives them) the *cnn* configs differ only in name and attribute."""
    config = classifier.apply_overrides(
        classifier.load_config(CONFIGS / f"{name}.yaml"),
        {"data.labels": ["female", "male"], "data.test_fraction": 0.0},
    )
    base = classifier.apply_overrides(
        classifier.load_config(CONFIGS / "custom_cnn.yaml"),
        {"data.labels": ["female", "male"], "data.test_fraction": 0.0},
    )
    for section in ("preprocessing", "augmentation", "model", "training"):
        assert config[section] == base[section]
    assert {k: v for k, v in config["data"].items() if k != "attribute"} == {
        k: v for k, v in base["data"].items() if k != "attribute"
    }
    t = config["training"]
    assert t["warmup_epochs"] >= 1 and t["average_epochs"] >= 1
    assert not t["early_stopping"]["restore_best_weights"]


def test_small_data_gets_smaller_batches_so_an_epoch_stays_several_updates():
    training = {"batch_size": 64, "min_steps_per_epoch": 8}
    assert (
        classifier.batch_size_for(training, 110) == 13
    )  # a retrain of the LFW folder: 9 steps, not 2
    assert classifier.batch_size_for(training, 40_000) == 64  # CelebA: as configured
    assert classifier.batch_size_for({"batch_size": 64, "min_steps_per_epoch": 0}, 110) == 64
    assert classifier.batch_size_for(training, 5) == 1


def test_a_smaller_batch_scales_every_learning_rate_in_proportion():
    training = classifier.load_config(CONFIGS / "custom_cnn.yaml")["training"]
    scaled = classifier.scale_learning_rates(training, 13 / 64)
    assert scaled["learning_rate"] == pytest.approx(0.001 * 13 / 64)
    assert scaled["lr_schedule"]["values"] == pytest.approx(
        [v * 13 / 64 for v in training["lr_schedule"]["values"]]
    )
    assert scaled["lr_schedule"]["boundaries"] == training["lr_schedule"]["boundaries"]
    assert training["learning_rate"] == 0.001  # the config itself is left alone
