"""What the trained style networks (AdaIN, CycleGAN) share: training pictures and the loop's helpers."""

from __future__ import annotations

import random
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def list_images(folder) -> list[Path]:
    """Image files directly in ``folder``, sorted; ValueError if none."""
    folder = Path(folder)
    files = (
        sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if folder.is_dir()
        else []
    )
    if not files:
        raise ValueError(
            f"No training images (jpg/png/webp/bmp) in {folder}. Received: folder={str(folder)!r}"
        )
    return files


def random_crops(files, size: int, seed: int, scale=(0.0, 1.0)):
    """tf.data of endless random ``size`` crops (short side resized to 1.15 x size) in ``scale``."""
    rng = random.Random(seed)

    def gen():
        while True:
            with Image.open(rng.choice(files)) as im:
                im = im.convert("RGB")
                short = int(size * 1.15)
                im = im.resize(
                    (
                        max(short, round(im.width * short / min(im.size))),
                        max(short, round(im.height * short / min(im.size))),
                    ),
                    Image.BICUBIC,
                )
                x, y = rng.randint(0, im.width - size), rng.randint(0, im.height - size)
                crop = np.asarray(im.crop((x, y, x + size, y + size)), "float32") / 255.0
            yield crop * (scale[1] - scale[0]) + scale[0]

    spec = tf.TensorSpec((size, size, 3), tf.float32)
    return tf.data.Dataset.from_generator(gen, output_signature=spec)


def reflection_padding(pad: int):
    """A layer that reflection-pads height and width by ``pad`` pixels."""
    return keras.layers.Lambda(
        lambda x: keras.ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")
    )


def progress_callback(total_steps: int, progress, should_stop):
    """A Keras callback that reports progress per batch and stops training when asked."""

    class Monitor(keras.callbacks.Callback):
        """Calls ``progress(fraction, message)``; sets ``cancelled`` when ``should_stop()``."""

        cancelled, step = False, 0

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            if progress is not None:
                shown = ", ".join(f"{k} {float(v):.4g}" for k, v in (logs or {}).items())
                progress(self.step / total_steps, f"step {self.step}/{total_steps} {shown}")
            if should_stop is not None and should_stop():
                self.cancelled, self.model.stop_training = True, True

    return Monitor()


def training_folders(
    config: dict, data_dir, keys=("content_dir", "style_dir"), names=("content", "style")
):
    """The training folders: config keys if given, else subfolders of ``data_dir``."""
    return [Path(config.get(k) or Path(data_dir or ".") / n) for k, n in zip(keys, names)]
