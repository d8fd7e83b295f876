"""CycleGAN (Zhu et al. 2017) for fixed styles learnt from two unpaired folders (photos A, style B).

ResNet generator, 70x70 PatchGAN discriminator, LSGAN + cycle + identity losses, instance norm
as ``GroupNormalization(groups=-1)``. Only the photo-to-style generator is exported.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from ml.common.images import resize_long_side, to_uint8
from ml.common.modeldir import read_meta, write_meta
from ml.common.stoppable import check_stop
from ml.style.strength import check, with_photo, without_knob
from ml.style.training import (
    list_images,
    progress_callback,
    random_crops,
    reflection_padding,
    training_folders,
)

DEFAULTS = {
    "image_size": 256,
    "batch_size": 1,
    "epochs": 100,
    "steps_per_epoch": 1000,
    "learning_rate": 2e-4,
    "base_filters": 64,
    "residual_blocks": 9,
    "disc_filters": 64,
    "cycle_weight": 10.0,
    "identity_weight": 0.5,
    "style_name": "cyclegan",
    "samples": 4,
}
GENERATOR_FILE = "generator.weights.h5"


def instance_norm():
    """Instance normalisation without tensorflow-addons."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)


def residual_block(x, filters: int):
    """Two reflection-padded 3x3 convs with instance norm, added to the input."""
    y = x
    for i in range(2):
        y = reflection_padding(1)(y)
        y = keras.layers.Conv2D(filters, 3, use_bias=False)(y)
        y = instance_norm()(y)
        if i == 0:
            y = keras.layers.ReLU()(y)
    return keras.layers.Add()([x, y])


def get_generator(base_filters: int = 64, residual_blocks: int = 9, name="generator"):
    """ResNet generator: c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3 (tanh, -1..1)."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(base_filters, 7, use_bias=False)(reflection_padding(3)(inputs))
    x = keras.layers.ReLU()(instance_norm()(x))
    for mult in (2, 4):
        x = keras.layers.Conv2D(base_filters * mult, 3, strides=2, padding="same", use_bias=False)(
            x
        )
        x = keras.layers.ReLU()(instance_norm()(x))
    for _ in range(residual_blocks):
        x = residual_block(x, base_filters * 4)
    for mult in (2, 1):
        x = keras.layers.Conv2DTranspose(
            base_filters * mult, 3, strides=2, padding="same", use_bias=False
        )(x)
        x = keras.layers.ReLU()(instance_norm()(x))
    x = keras.layers.Conv2D(3, 7, activation="tanh")(reflection_padding(3)(x))
    return keras.Model(inputs, x, name=name)


def get_discriminator(filters: int = 64, name="discriminator"):
    """PatchGAN: C64-C128-C256-C512 (4x4 convs, LeakyReLU 0.2, instance norm after the first)."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.LeakyReLU(0.2)(
        keras.layers.Conv2D(filters, 4, strides=2, padding="same")(inputs)
    )
    for mult, stride in ((2, 2), (4, 2), (8, 1)):
        x = keras.layers.Conv2D(filters * mult, 4, strides=stride, padding="same", use_bias=False)(
            x
        )
        x = keras.layers.LeakyReLU(0.2)(instance_norm()(x))
    x = keras.layers.Conv2D(1, 4, padding="same")(x)
    return keras.Model(inputs, x, name=name)


def _mse(a, b):
    """Mean squared error (the LSGAN loss)."""
    return tf.reduce_mean((a - b) ** 2)


def _mae(a, b):
    """Mean absolute error (the cycle and identity losses)."""
    return tf.reduce_mean(tf.abs(a - b))


class CycleGAN(keras.Model):
    """G: A->B, F: B->A, D_A, D_B; ``train_step`` does one update of both generators and critics."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cycle_weight = float(cfg["cycle_weight"])
        self.identity_weight = float(cfg["identity_weight"])
        self.gen_ab = get_generator(cfg["base_filters"], cfg["residual_blocks"], "gen_ab")
        self.gen_ba = get_generator(cfg["base_filters"], cfg["residual_blocks"], "gen_ba")
        self.disc_a = get_discriminator(cfg["disc_filters"], "disc_a")
        self.disc_b = get_discriminator(cfg["disc_filters"], "disc_b")
        names = ("gen_loss", "cycle_loss", "identity_loss", "disc_loss")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, gen_optimizer, disc_optimizer):
        super().compile()
        self.gen_optimizer, self.disc_optimizer = gen_optimizer, disc_optimizer

    def batch_losses(self, real_a, real_b) -> dict:
        """The four losses of one batch: adversarial, cycle, identity (generators) and critics'."""
        fake_b = self.gen_ab(real_a, training=True)
        fake_a = self.gen_ba(real_b, training=True)
        cycle = _mae(self.gen_ba(fake_b, training=True), real_a) + _mae(
            self.gen_ab(fake_a, training=True), real_b
        )
        identity = _mae(self.gen_ab(real_b, training=True), real_b) + _mae(
            self.gen_ba(real_a, training=True), real_a
        )
        d_fake_b = self.disc_b(fake_b, training=True)
        d_fake_a = self.disc_a(fake_a, training=True)
        disc_loss = 0.5 * (
            _mse(self.disc_b(real_b, training=True), 1.0)
            + _mse(d_fake_b, 0.0)
            + _mse(self.disc_a(real_a, training=True), 1.0)
            + _mse(d_fake_a, 0.0)
        )
        return {
            "gen_loss": _mse(d_fake_b, 1.0) + _mse(d_fake_a, 1.0),
            "cycle_loss": cycle,
            "identity_loss": identity,
            "disc_loss": disc_loss,
        }

    def train_step(self, data):
        real_a, real_b = data
        weight = self.cycle_weight
        with tf.GradientTape(persistent=True) as tape:
            losses = self.batch_losses(real_a, real_b)
            gen_loss = (
                losses["gen_loss"]
                + weight * losses["cycle_loss"]
                + weight * self.identity_weight * losses["identity_loss"]
            )
        gens = self.gen_ab.trainable_variables + self.gen_ba.trainable_variables
        discs = self.disc_a.trainable_variables + self.disc_b.trainable_variables
        self.gen_optimizer.apply_gradients(zip(tape.gradient(gen_loss, gens), gens))
        self.disc_optimizer.apply_gradients(zip(tape.gradient(losses["disc_loss"], discs), discs))
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {n: t.result() for n, t in self.trackers.items()}


def make_cyclegan(cfg: dict) -> CycleGAN:
    """A keras.Model whose train_step does one CycleGAN update of both generators and critics."""
    return CycleGAN(cfg)


def sample_writer(gen_ab, photos: list, out_dir: Path, size: int):
    """A Keras callback that writes samples/epoch_NNN.png (photo | stylized) after each epoch."""

    class Samples(keras.callbacks.Callback):
        """Photo-to-style samples on fixed photos, one PNG per epoch."""

        def on_epoch_end(self, epoch, logs=None):
            _write_samples(
                FixedStyle(gen_ab), photos, out_dir / "samples" / f"epoch_{epoch + 1:03d}.png", size
            )

    return Samples()


def _write_samples(style, photos, path: Path, size: int) -> None:
    """Rows of (photo, stylized) for the given photo files."""
    rows = []
    for p in photos:
        photo = np.asarray(Image.open(p).convert("RGB").resize((size, size)))
        rows.append(np.concatenate([photo, style.stylize(photo, 1.0, size)], axis=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def train(config: dict, data_dir, out_dir, *, progress=None, should_stop=None, seed=0) -> dict:
    """Train on data_dir/A (photos) and data_dir/B (style); export the A->B generator; return a summary."""
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    dir_a, dir_b = training_folders(cfg, data_dir, ("a_dir", "b_dir"), ("A", "B"))
    photos, styles = list_images(dir_a), list_images(dir_b)
    keras.utils.set_random_seed(seed)
    size, epochs, per_epoch = (
        int(cfg["image_size"]),
        int(cfg["epochs"]),
        int(cfg["steps_per_epoch"]),
    )
    data = tf.data.Dataset.zip(
        (
            random_crops(photos, size, seed, (-1.0, 1.0)),
            random_crops(styles, size, seed + 1, (-1.0, 1.0)),
        )
    )
    model = make_cyclegan(cfg)
    lr = float(cfg["learning_rate"])
    model.compile(keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5))
    out_dir = Path(out_dir)
    monitor = progress_callback(epochs * per_epoch, progress, should_stop)
    samples = sample_writer(model.gen_ab, photos[: int(cfg["samples"])], out_dir, size)
    start = time.perf_counter()
    history = model.fit(
        data.batch(int(cfg["batch_size"])).prefetch(2),
        epochs=epochs,
        shuffle=False,
        steps_per_epoch=per_epoch,
        callbacks=[monitor, samples],
        verbose=0,
    )
    check_stop(lambda: monitor.cancelled)
    model.gen_ab.save_weights(out_dir / GENERATOR_FILE)
    summary = {
        "kind": "cyclegan",
        "name": str(cfg["style_name"]),
        "config": cfg,
        "metrics": {k: float(v[-1]) for k, v in history.history.items()},
        "epochs": epochs,
        "seconds": round(time.perf_counter() - start, 1),
        "data": {"photos": len(photos), "style_images": len(styles)},
        "files": {"generator": GENERATOR_FILE, "samples": "samples/"},
    }
    write_meta(out_dir, summary)
    return summary


class FixedStyle:
    """An exported photo-to-style generator: stylizes without a style image."""

    def __init__(self, generator, name: str = "cyclegan"):
        self.generator, self.name = generator, name

    @classmethod
    def load(cls, model_dir) -> FixedStyle:
        """Load the generator of a ``cyclegan`` model folder."""
        meta = read_meta(model_dir, kind="cyclegan")
        cfg = {**DEFAULTS, **meta.get("config", {})}
        generator = get_generator(int(cfg["base_filters"]), int(cfg["residual_blocks"]))
        generator.load_weights(
            Path(model_dir) / meta.get("files", {}).get("generator", GENERATOR_FILE)
        )
        return cls(generator, meta.get("name", "cyclegan"))

    def stylize(self, content: np.ndarray, strength: float = 1.0, size: int = 512) -> np.ndarray:
        """Photo -> style at long side ``size``; the result mixed with the photo by
        ``without_knob(strength)`` (ml/style/strength.py: a fixed style has no style knob); 0 is the photo."""
        strength = check(strength)
        photo = resize_long_side(content, size, multiple=4)[None]
        if strength == 0.0:
            return to_uint8(photo)
        styled = (np.asarray(self.generator(photo * 2.0 - 1.0)) + 1.0) / 2.0
        return to_uint8(with_photo(np.clip(styled, 0.0, 1.0), photo, without_knob(strength)))
