"""Fine-tune the pretrained arbitrary-style transformer from rated pairs, and judge a folder.

``finetune_arbitrary`` trains the transformer of an ``arbitrary`` model folder (the style
predictor stays frozen, so style vectors keep their meaning) on (content, style, weight)
pairs drawn in proportion to their weight, with the Gatys losses on the offline HED VGG16:
Gram matrices at block1..5_conv1 against the style picture, features at block4_conv2 against
the photo. Each loss is divided by its mean for the starting network on a few batches, so
the balance the pretrained network learnt is the starting point and a step that helps one
loss at the other's expense shows. ``judge_arbitrary`` scores a folder with ml/style/judge.py.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from ml.common.modeldir import write_meta
from ml.common.stoppable import check_stop
from ml.style import judge
from ml.style.fast_style import FILES, ArbitraryStylizer, _check_image
from ml.style.judge import JUDGE_CONTENT_LAYER, JUDGE_STYLE_LAYERS
from ml.style.nst import feature_extractor, features, style_and_content_losses, style_grams

STYLE_LAYERS = (
    JUDGE_STYLE_LAYERS  # the judge's layers; the gate's independence is its fixed, unseen pairs
)
CONTENT_LAYERS = (JUDGE_CONTENT_LAYER,)
EAGER_STEPS = 20  # runs this short train eagerly (no trace)
CALIBRATION_BATCHES = 4  # batches of the starting network whose mean losses set the loss scales


def _check_pairs(pairs, weighted: bool = True) -> list:
    """``pairs`` as a list of (content, style[, weight]) with images HxWx3; ValueError otherwise."""
    pairs = list(pairs or [])
    if not pairs:
        raise ValueError(
            "Fine-tuning and judging need at least one (content, style) pair. Received: pairs=[]"
        )
    out = []
    for i, pair in enumerate(pairs):
        if len(pair) != (3 if weighted else 2):
            raise ValueError(
                f"Each pair must be (content, style{', weight' if weighted else ''}). "
                f"Received: pairs[{i}] of length {len(pair)}"
            )
        images = (
            _check_image(pair[0], f"pairs[{i}] content"),
            _check_image(pair[1], f"pairs[{i}] style"),
        )
        if weighted:
            weight = float(pair[2])
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(
                    f"Pair weights must be positive numbers. Received: pairs[{i}] weight={pair[2]!r}"
                )
            images += (weight,)
        out.append(images)
    return out


def _crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` x ``size`` crop (float 0..1) of the image resized to short side ``size``."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    im = np.asarray(Image.fromarray(image).resize((nw, nh), Image.LANCZOS), np.float32) / 255.0
    top, left = rng.integers(0, nh - size + 1), rng.integers(0, nw - size + 1)
    return im[top : top + size, left : left + size]


def _step_functions(transformer, optimizer, compile_step: bool):
    """(losses, train step) over batches of (content, style vectors, Gram targets)."""
    extractor = feature_extractor("hed", STYLE_LAYERS + CONTENT_LAYERS)
    n_style = len(STYLE_LAYERS)

    def losses(content, vectors, grams):
        target = [tf.stop_gradient(f) for f in features(extractor, content)[n_style:]]
        out = transformer([content, vectors], training=True)
        return style_and_content_losses(features(extractor, out), grams, target)

    def train_step(content, vectors, grams, scale):
        with tf.GradientTape() as tape:
            style, content_loss = losses(content, vectors, grams)
            loss = style / scale[0] + content_loss / scale[1]
        grads = tape.gradient(loss, transformer.trainable_variables)
        optimizer.apply_gradients(zip(grads, transformer.trainable_variables))
        return style, content_loss

    # Tracing the step costs as much as tens of eager steps on a CPU: only long runs compile it.
    return losses, tf.function(train_step, reduce_retracing=True) if compile_step else train_step


def finetune_arbitrary(
    base_dir,
    pairs,
    out_dir,
    steps: int = 200,
    size: int = 256,
    progress=None,
    should_stop=None,
    learning_rate: float = 1e-4,
    batch_size: int = 2,
    seed: int = 0,
) -> dict:
    """Fine-tune the transformer of ``base_dir`` on weighted pairs; write an ``arbitrary`` folder.

    ``pairs``: (content uint8, style uint8, weight > 0). Returns the run's stats (also in meta).
    """
    pairs = _check_pairs(pairs)
    if int(steps) < 1 or not 32 <= int(size) <= 1024 or int(batch_size) < 1:
        raise ValueError(
            f"`steps` >= 1, `size` in 32..1024 and `batch_size` >= 1 are required. "
            f"Received: steps={steps}, size={size}, batch_size={batch_size}"
        )
    say = progress or (lambda fraction, message: None)
    start = time.perf_counter()
    base = ArbitraryStylizer.load(base_dir)
    batches = _Batches(base, pairs, int(size), int(batch_size), np.random.default_rng(seed))
    losses, train_step = _step_functions(
        base.transformer,
        keras.optimizers.Adam(learning_rate),
        compile_step=int(steps) > EAGER_STEPS,
    )
    say(0.0, "measuring the starting network's losses")
    initial = np.mean(
        [
            [float(v) for v in losses(*batches.draw())]
            for _ in range(min(len(pairs), CALIBRATION_BATCHES))
        ],
        0,
    )
    history = _train_steps(train_step, batches, initial, int(steps), say, should_stop)
    tail = np.mean(history[-min(10, len(history)) :], axis=0)
    stats = {
        "steps": int(steps),
        "pairs": len(pairs),
        "size": int(size),
        "batch_size": int(batch_size),
        "learning_rate": learning_rate,
        "seconds": round(time.perf_counter() - start, 1),
        "initial_losses": {"style": float(initial[0]), "content": float(initial[1])},
        "final_losses": {"style": float(tail[0]), "content": float(tail[1])},
    }
    _write_folder(base, base_dir, out_dir, stats)
    return stats


class _Batches:
    """Training batches: pairs drawn in proportion to their weight, a random crop of each photo,
    the style picture's vector (from the frozen predictor) and its Gram matrices."""

    def __init__(self, base, pairs: list, size: int, batch_size: int, rng: np.random.Generator):
        self.pairs, self.size, self.batch_size, self.rng = pairs, size, batch_size, rng
        styles = [style for _, style, _ in pairs]
        self.vectors = np.stack([base.style_vector(style) for style in styles]).astype(np.float32)
        self.p = np.array([w for _, _, w in pairs]) / sum(w for _, _, w in pairs)

    def draw(self):
        """One batch: (content crops, style vectors, Gram matrices per style layer)."""
        idx = self.rng.choice(len(self.pairs), size=self.batch_size, p=self.p)
        content = np.stack([_crop(self.pairs[i][0], self.size, self.rng) for i in idx])
        grams = [style_grams(self.pairs[i][1], self.size, "hed", STYLE_LAYERS) for i in idx]
        return (
            tf.constant(content),
            tf.constant(self.vectors[idx]),
            [tf.concat(g, 0) for g in zip(*grams)],
        )


def _train_steps(train_step, batches: _Batches, initial, steps: int, say, should_stop) -> list:
    """Run ``steps`` training steps, each loss divided by its ``initial`` mean; return the
    (style, content) losses of each step."""
    scale = tf.constant(np.maximum(initial, 1e-12), tf.float32)
    history = []
    for step in range(steps):
        check_stop(should_stop)
        style, content = train_step(*batches.draw(), scale)
        history.append((float(style), float(content)))
        say(
            (step + 1) / steps,
            f"step {step + 1}/{steps}: style loss {history[-1][0] / initial[0]:.3f}x, "
            f"content loss {history[-1][1] / initial[1]:.3f}x of the start",
        )
    return history


def _write_folder(base, base_dir, out_dir, stats: dict) -> None:
    """The fine-tuned ``arbitrary`` folder: the base's predictor, the new transformer, meta.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {**FILES, **base.meta.get("files", {})}
    shutil.copyfile(Path(base_dir) / files["predictor"], out / FILES["predictor"])
    base.transformer.save_weights(out / FILES["transformer"])
    keep = {
        k: base.meta[k]
        for k in ("source", "licence", "provenance", "onnx_sha256")
        if k in base.meta
    }
    write_meta(
        out,
        {
            **keep,
            "kind": "arbitrary",
            "name": base.meta.get("name", "arbitrary"),
            "files": {"predictor": FILES["predictor"], "transformer": FILES["transformer"]},
            "base": {
                "name": base.meta.get("name"),
                "created": base.meta.get("created"),
                "path": str(base_dir),
            },
            "steps": stats["steps"],
            "final_losses": stats["final_losses"],
            "finetune": stats,
        },
    )


def judge_arbitrary(model_dir, pairs, size: int = 256) -> dict:
    """Score an ``arbitrary`` folder at strength 1 on (content, style) pairs with ml/style/judge.py's
    one recipe (``judge_pairs``).

    ``style_ratio``: mean over pairs of the result's style distance to the style picture divided
    by the photo's own (lower is more styled); ``content``: mean content distance to the photo.
    """
    pairs = _check_pairs(pairs, weighted=False)
    stylizer = ArbitraryStylizer.load(model_dir)
    found = judge.judge_pairs(
        lambda content, style: stylizer.stylize(content, style, strength=1.0, size=int(size)),
        pairs,
        size,
    )
    return {
        "n": found["n"],
        "style_ratio": found["style_ratio"],
        "content": found["content_distance"],
        "style_ratios": found["style_ratios"],
        "size": found["size"],
    }
