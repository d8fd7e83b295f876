"""AdaIN arbitrary style transfer (Huang & Belongie 2017) on the offline HED VGG16.

Encoder: VGG16 relu1_1..relu4_1 (block1_conv1 .. block4_conv1, frozen). Decoder: its mirror
with reflection padding and nearest-neighbour upsampling, and no sigmoid clamp (outputs are
RGB 0..1 floats, clipped only when an image is made). Differences from the keras.io example
that the reference implementation does not have (sigmoid output, zero padding) are avoided.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from ml.common import backbones
from ml.common.images import resize_long_side, to_uint8
from ml.common.modeldir import read_meta, write_meta
from ml.common.stoppable import check_stop
from ml.style.strength import check, style_space, with_photo
from ml.style.training import (
    list_images,
    progress_callback,
    random_crops,
    reflection_padding,
    training_folders,
)

ENCODER_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
DEFAULTS = {
    "image_size": 256,
    "batch_size": 8,
    "steps": 20000,
    "learning_rate": 1e-4,
    "style_weight": 10.0,
    "log_every": 100,
    "name": "adain",
}
DECODER_FILE = "decoder.weights.h5"


def conv(filters: int, kernel: int = 3, activation="relu"):
    """Reflection-padded 'valid' convolution, as in the reference decoder."""
    return keras.Sequential(
        [
            reflection_padding(kernel // 2),
            keras.layers.Conv2D(filters, kernel, activation=activation),
        ]
    )


def get_encoder(weights="hed"):
    """Frozen VGG16 up to relu4_1 mapping RGB 0..1 to the four relu*_1 feature maps."""
    vgg = backbones.vgg16(weights)
    vgg_part = keras.Model(vgg.input, [vgg.get_layer(n).output for n in ENCODER_LAYERS])
    inputs = keras.Input((None, None, 3))
    outputs = vgg_part(backbones.preprocess_vgg(inputs * 255.0))
    return keras.Model(inputs, outputs, name="adain_encoder")


def get_decoder():
    """Mirror of the encoder: 512 x H/8 features -> RGB 0..1 image (unclamped)."""
    up = lambda: keras.layers.UpSampling2D(2, interpolation="nearest")  # noqa: E731
    layers = [
        conv(256),
        up(),
        conv(256),
        conv(256),
        conv(256),
        conv(128),
        up(),
        conv(128),
        conv(64),
        up(),
        conv(64),
        conv(3, activation=None),
    ]
    return keras.Sequential([keras.Input((None, None, 512)), *layers], name="adain_decoder")


def ada_in(content, style, eps: float = 1e-5):
    """Adaptive instance normalisation: content features with the style's channel mean and std."""
    c_mean, c_var = tf.nn.moments(content, axes=[1, 2], keepdims=True)
    s_mean, s_var = tf.nn.moments(style, axes=[1, 2], keepdims=True)
    return s_var**0.5 * (content - c_mean) / tf.sqrt(c_var + eps) + s_mean


def make_trainer(encoder, decoder, style_weight: float):
    """A keras.Model whose train_step trains ``decoder`` with AdaIN content + style losses."""

    def mean_std(x):
        mean, var = tf.nn.moments(x, axes=[1, 2])
        return mean, tf.sqrt(var + 1e-5)

    class Trainer(keras.Model):
        """Decoder training: content loss at relu4_1, mean/std style loss at relu1_1..relu4_1."""

        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder
            self.trackers = {
                n: keras.metrics.Mean(name=n) for n in ("loss", "content_loss", "style_loss")
            }

        @property
        def metrics(self):
            return list(self.trackers.values())

        def train_step(self, data):
            content, style = data
            style_feats = self.encoder(style)
            target = ada_in(self.encoder(content)[-1], style_feats[-1])
            with tf.GradientTape() as tape:
                out_feats = self.encoder(self.decoder(target))
                content_loss = tf.reduce_mean((out_feats[-1] - target) ** 2)
                style_loss = 0.0
                for o, s in zip(out_feats, style_feats):
                    (om, osd), (sm, ssd) = mean_std(o), mean_std(s)
                    style_loss += tf.reduce_mean((om - sm) ** 2) + tf.reduce_mean((osd - ssd) ** 2)
                loss = content_loss + style_weight * style_loss
            grads = tape.gradient(loss, self.decoder.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.decoder.trainable_variables))
            for name, value in (
                ("loss", loss),
                ("content_loss", content_loss),
                ("style_loss", style_loss),
            ):
                self.trackers[name].update_state(value)
            return {n: t.result() for n, t in self.trackers.items()}

    return Trainer()


def train(config: dict, data_dir, out_dir, *, progress=None, should_stop=None, seed=0) -> dict:
    """Train an AdaIN decoder on data_dir/content + data_dir/style; write a model folder; return a summary."""
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    content_dir, style_dir = training_folders(cfg, data_dir)
    contents, styles = list_images(content_dir), list_images(style_dir)
    keras.utils.set_random_seed(seed)
    size, batch, steps = int(cfg["image_size"]), int(cfg["batch_size"]), int(cfg["steps"])
    data = tf.data.Dataset.zip(
        (random_crops(contents, size, seed), random_crops(styles, size, seed + 1))
    )
    encoder, decoder = get_encoder(cfg.get("weights", "hed")), get_decoder()
    if cfg.get("init_decoder"):  # fine-tune an existing decoder (a model folder or a weights file)
        decoder.load_weights(_decoder_file(cfg["init_decoder"]))
    trainer = make_trainer(encoder, decoder, float(cfg["style_weight"]))
    trainer.compile(optimizer=keras.optimizers.Adam(float(cfg["learning_rate"])))
    monitor, start = progress_callback(steps, progress, should_stop), time.perf_counter()
    history = trainer.fit(
        data.batch(batch).prefetch(2),
        epochs=1,
        steps_per_epoch=steps,
        callbacks=[monitor],
        verbose=0,
        shuffle=False,
    )
    check_stop(lambda: monitor.cancelled)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    decoder.save_weights(out_dir / DECODER_FILE)
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    summary = {
        "kind": "adain",
        "name": cfg["name"],
        "config": cfg,
        "metrics": metrics,
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 1),
        "data": {"content_images": len(contents), "style_images": len(styles)},
        "files": {"decoder": DECODER_FILE, "samples": "samples.png"},
        "encoder": "vgg16-hed",
    }
    write_meta(out_dir, summary)
    _write_samples(
        AdaINStylizer(decoder, cfg.get("weights", "hed")),
        contents,
        styles,
        out_dir / "samples.png",
        size,
    )
    return summary


def _decoder_file(path) -> Path:
    """The decoder weights of a model folder, or the path itself when it is a weights file."""
    path = Path(path)
    if path.is_dir():
        return path / read_meta(path).get("files", {}).get("decoder", DECODER_FILE)
    return path


def _write_samples(stylizer, contents, styles, path, size: int) -> None:
    """A grid PNG: rows of (content, style, result) for up to three pairs."""
    rows = []
    for c_path, s_path in list(zip(contents, styles * len(contents)))[:3]:
        c, s = (np.asarray(Image.open(p).convert("RGB")) for p in (c_path, s_path))
        out = stylizer.stylize(c, s, size=size)
        tiles = [np.asarray(Image.fromarray(t).resize(out.shape[1::-1])) for t in (c, s)] + [out]
        rows.append(np.concatenate(tiles, axis=1))
    width = min(r.shape[1] for r in rows)
    Image.fromarray(
        np.concatenate([r[:, :width] for r in rows if r.shape[0] == rows[0].shape[0]], 0)
    ).save(path)


class AdaINStylizer:
    """A trained AdaIN decoder with the offline encoder, ready to stylize with any style image."""

    def __init__(self, decoder, weights="hed"):
        self.decoder, self.encoder = decoder, get_encoder(weights)
        spec = tf.TensorSpec([1, None, None, 3], tf.float32)
        stat = tf.TensorSpec([1, 1, 1, 512], tf.float32)
        # Compiled once per process: eager calls cost more than the convolutions at small sizes.
        self._style_stats = tf.function(self._stats, input_signature=[spec])
        self._render = tf.function(
            self._forward, input_signature=[spec, stat, stat, tf.TensorSpec([], tf.float32)]
        )
        self._cache: dict[str, tuple] = {}

    def _stats(self, image):
        mean, var = tf.nn.moments(self.encoder(image)[-1], axes=[1, 2], keepdims=True)
        return mean, tf.sqrt(var + 1e-5)

    def _forward(self, content, s_mean, s_std, alpha):
        fc = self.encoder(content)[-1]
        c_mean, c_var = tf.nn.moments(fc, axes=[1, 2], keepdims=True)
        target = s_std * (fc - c_mean) / tf.sqrt(c_var + 1e-5) + s_mean
        return self.decoder(alpha * target + (1.0 - alpha) * fc)

    def style_stats(self, style: np.ndarray, size: int):
        """Channel mean and std of the style's relu4_1 features, cached per style image and size."""
        key = hashlib.sha1(style.tobytes() + str((style.shape, size)).encode()).hexdigest()
        if key not in self._cache:
            if len(self._cache) > 32:
                self._cache.pop(next(iter(self._cache)))
            s = resize_long_side(style, size, multiple=8)[None].astype(np.float32)
            self._cache[key] = self._style_stats(s)
        return self._cache[key]

    @classmethod
    def load(cls, model_dir) -> AdaINStylizer:
        """Load the decoder of an ``adain`` model folder."""
        meta = read_meta(model_dir, kind="adain")
        decoder = get_decoder()
        decoder.load_weights(_decoder_file(model_dir))
        return cls(decoder, meta.get("config", {}).get("weights", "hed"))

    def stylize(
        self, content: np.ndarray, style: np.ndarray, strength: float = 1.0, size: int = 512
    ):
        """Stylize ``content`` like ``style``; ``strength`` as ml/style/strength.py defines it: alpha
        (the feature blend) at ``style_space(strength)``, the picture mixed with the photo by
        ``strength``; 0 is the photo."""
        strength = check(strength)
        c = resize_long_side(content, size, multiple=8)[None].astype(np.float32)
        if strength == 0.0:
            return to_uint8(c)
        mean, std = self.style_stats(style, size)
        styled = np.clip(self._render(c, mean, std, np.float32(style_space(strength))), 0.0, 1.0)
        return to_uint8(with_photo(styled, c, strength))
