"""Gatys et al. neural style transfer: content + Gram-matrix style + total-variation loss.

Two entry points over the same losses and the same (offline, HED) VGG16 features:

* ``tutorial_nst``: the TensorFlow tutorial's algorithm (Adam lr 0.02, 1000 steps at 512 px),
  kept as the baseline the benchmark compares against.
* ``stylize``: the fast path used by the product: it starts from the pretrained ``arbitrary``
  network's picture (``initial_image``), and minimises layer-balanced losses
  (``normalized_losses``) with L-BFGS-B on the pixels (bounded to 0..1, so no clipping) instead
  of 1000 Adam steps, optionally coarse-to-fine (``pyramid``), style Gram matrices cached per
  style image, each level stopped as soon as its loss stops falling. ``strength`` is calibrated
  on ml/style/judge.py (bench/style_calibrate.py, docs/style.md).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import threading
import time
from collections.abc import Callable

import keras
import numpy as np
import scipy.optimize
import tensorflow as tf
from PIL import Image

from ml.common import backbones, stoppable
from ml.common.cache import cached
from ml.common.images import resize_long_side, to_uint8
from ml.common.stoppable import Cancelled, check_stop
from ml.style.fast_style import ArbitraryStylizer
from ml.style.strength import check as check_strength
from ml.style.strength import style_space, with_photo

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
# block3_conv3 keeps the subject's shapes (a face stays a face at 256 px), block5_conv2 its
# layout; neither is the judge's content layer (block4_conv2). See docs/style.md.
CONTENT_LAYERS = ("block3_conv3", "block5_conv2")
# The tutorial's weights (its baseline only).
STYLE_WEIGHT, CONTENT_WEIGHT, TUTORIAL_TV_WEIGHT = 1e-2, 1e4, 30.0
# The fast path's weights, content weight 1 on the layer-balanced losses (see docs/style.md).
STYLE_WEIGHT_AT_1, DECADES, TV_WEIGHT = 10.0, 4.0, 0.02
INIT_BLEND = 2.0  # the arbitrary picture's share of the start is min(1, INIT_BLEND * strength)
# Evaluations per level of the pyramid (long side as a fraction of ``size``).
PYRAMID = ((1.0, 30),)
MIN_IMPROVEMENT, PATIENCE = 2e-3, 6
# What strength asks for, per pair: the optimiser's own style loss at most TARGET_DECADES * strength
# decades below the photo's own (``own_style_target``). Until it gets there the style weight is
# raised x10 for another CONTINUE_EVALS evaluations, at most MAX_EVALS in all (docs/style.md).
# One decade left the picture at the old default 0.5 nearly the photo (judge content 0.12); two
# paint it at 0.75-1 and still keep the face (bench/style_calibrate.py --methods nst).
TARGET_DECADES, CONTINUE_EVALS, MAX_EVALS = 2.0, 15, 60
# Results smaller than this are optimised at this long side and scaled down: Gram textures are
# as big in pixels at any size, so at 128 px they cover a face (docs/style.md).
MIN_SIDE = 256
BORDER_PAD = 16  # px of reflected border around the picture VGG sees (``reflected``)

Progress = Callable[[float, str], None]


def gram_matrix(features):
    """Gram matrix of (B, H, W, C) features divided by the number of positions -> (B, C, C)."""
    shape = tf.shape(features)
    positions = tf.cast(shape[1] * shape[2], features.dtype)
    return tf.einsum("bijc,bijd->bcd", features, features) / positions


@functools.lru_cache(maxsize=8)
def feature_extractor(weights="hed", layers: tuple = STYLE_LAYERS + CONTENT_LAYERS):
    """Keras model mapping caffe-preprocessed images to the listed layers' outputs (cached).

    ``weights``: "hed" (offline VGG16), "imagenet" (VGG19, downloaded by Keras) or a VGG16
    weights file.
    """
    vgg = backbones.vgg19("imagenet") if weights == "imagenet" else backbones.vgg16(weights)
    return keras.Model(vgg.input, [vgg.get_layer(name).output for name in layers])


def features(extractor, image):
    """Features of a (B, H, W, 3) RGB 0..1 image; a list, one per layer of the extractor."""
    out = extractor(backbones.preprocess_vgg(image * 255.0))
    return list(out) if isinstance(out, (list, tuple)) else [out]


def style_and_content_losses(feats, style_grams, content_feats):
    """Mean squared Gram error over style layers and mean squared feature error over content."""
    n_style = len(style_grams)
    style = (
        tf.add_n(
            [
                tf.reduce_mean((gram_matrix(f) - g) ** 2)
                for f, g in zip(feats[:n_style], style_grams)
            ]
        )
        / n_style
    )
    content = tf.add_n(
        [tf.reduce_mean((f - c) ** 2) for f, c in zip(feats[n_style:], content_feats)]
    ) / len(content_feats)
    return style, content


def normalized_losses(feats, style_grams, content_feats):
    """Per-layer relative squared errors: each style layer and the content counts alike.

    The tutorial's raw mean squared Gram error is dominated by the layers with the largest
    activations, so the shallow layers (colour, fine texture) barely move; dividing each layer
    by its target's mean square balances them, and makes the weights unit-free.
    """
    n_style = len(style_grams)
    style = (
        tf.add_n(
            [
                tf.reduce_mean((gram_matrix(f) - g) ** 2) / (tf.reduce_mean(g**2) + 1e-12)
                for f, g in zip(feats[:n_style], style_grams)
            ]
        )
        / n_style
    )
    content = tf.add_n(
        [
            tf.reduce_mean((f - c) ** 2) / (tf.reduce_mean(c**2) + 1e-12)
            for f, c in zip(feats[n_style:], content_feats)
        ]
    ) / len(content_feats)
    return style, content


def tv_per_pixel(image):
    """Total variation of a (1, H, W, 3) image, per pixel (resolution independent)."""
    pixels = tf.cast(tf.shape(image)[1] * tf.shape(image)[2], image.dtype)
    return tf.reduce_sum(tf.image.total_variation(image)) / pixels


def strength_to_style_weight(strength: float) -> float:
    """Map ``strength`` 0..1 to the (layer-balanced) style weight: 0 at 0, then log-linear.

    Calibrated with the judge (bench/style_calibrate.py, docs/style.md): ``STYLE_WEIGHT_AT_1``
    at strength 1, ``DECADES`` decades less at strength 0+.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"`strength` must be between 0 and 1. Received: strength={strength}")
    if strength == 0.0:
        return 0.0
    return STYLE_WEIGHT_AT_1 * 10.0 ** (DECADES * (strength - 1.0))


def own_style_target(strength: float) -> float:
    """The optimiser's style loss over the photo's own that ``strength`` asks for: 10^(-2 strength)."""
    return 10.0 ** (-TARGET_DECADES * strength)


_GRAM_CACHE: collections.OrderedDict = collections.OrderedDict()


def style_grams(style: np.ndarray, long_side: int, weights="hed", layers=STYLE_LAYERS):
    """Gram matrices of the style image at ``long_side`` px, cached (LRU) by the image's hash."""
    style = np.ascontiguousarray(style)
    key = (hashlib.sha1(style.tobytes()).hexdigest(), style.shape, long_side, str(weights), layers)
    if key in _GRAM_CACHE:
        _GRAM_CACHE.move_to_end(key)
        return _GRAM_CACHE[key]
    extractor = feature_extractor(weights, tuple(layers))
    grams = [gram_matrix(f) for f in features(extractor, resize_long_side(style, long_side)[None])]
    _GRAM_CACHE[key] = grams
    if len(_GRAM_CACHE) > 32:
        _GRAM_CACHE.popitem(last=False)
    return grams


def reflected(image, pad: int = BORDER_PAD):
    """A (B, H, W, 3) picture reflect-padded by ``pad`` (less on tiny pictures) on every side.

    VGG's zero padding makes its features at the border differ from the interior's; optimising
    the pixels against them left a dark line along the bottom and right edges. Seen
    through a reflected border the edge pixels are interior pixels to VGG.
    """
    shape = tf.shape(image)
    pad = tf.minimum(tf.minimum(pad, shape[1] - 1), shape[2] - 1)
    return tf.pad(image, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")


def features_inside(extractor, image, pad: int = BORDER_PAD):
    """``features`` of the picture seen through its reflected border (``reflected``), each map
    cropped to the picture's own positions. Uncropped, the border's pixels (the picture's own,
    mirrored) counted twice in the Gram matrices: a faint seam ``pad`` px in from every edge."""
    padded = reflected(image, pad)
    outer = tf.shape(padded)
    border = (outer[1] - tf.shape(image)[1]) // 2  # less than ``pad`` on tiny pictures
    out = []
    for f in features(extractor, padded):
        shape = tf.shape(f)
        ch = tf.cast(tf.round(border * shape[1] / outer[1]), tf.int32)
        cw = tf.cast(tf.round(border * shape[2] / outer[2]), tf.int32)
        out.append(f[:, ch : shape[1] - ch, cw : shape[2] - cw, :])
    return out


def _loss_and_grad_fn(extractor, losses=style_and_content_losses):
    """A compiled (image, targets, weights) -> (total, [style, content, tv], gradient) function;
    the features are of the picture inside a reflected border (``features_inside``)."""

    @tf.function(reduce_retracing=True)
    def loss_and_grad(image, grams, content_feats, loss_weights):
        with tf.GradientTape() as tape:
            tape.watch(image)
            style, content = losses(features_inside(extractor, image), grams, content_feats)
            tv = tv_per_pixel(image)
            parts = tf.stack([style, content, tv])
            total = tf.reduce_sum(parts * loss_weights)
        return total, parts, tape.gradient(total, image)

    return loss_and_grad


@functools.lru_cache(maxsize=4)
def _fast_objective(weights):
    """The cached extractor + compiled loss for the fast path."""
    extractor = feature_extractor(weights, STYLE_LAYERS + CONTENT_LAYERS)
    return extractor, _loss_and_grad_fn(extractor, normalized_losses)


class _Converged(Exception):
    """Raised inside the L-BFGS objective when the loss has stopped falling."""


class _Level:
    """One pyramid level's L-BFGS-B run: the objective scipy calls, the best point it has seen,
    and how many of its evaluations the caller has reported."""

    def __init__(self, fn, image, targets, loss_weights):
        self.fn, self.targets, self.loss_weights = fn, targets, loss_weights
        self.shape = image.shape
        self.best_loss, self.best_parts = np.inf, None
        self.best_x = image.ravel().astype("float64")
        self.history: list[float] = []  # the loss of each evaluation
        self.reported = 0
        self.stopped = threading.Event()  # set by the caller when it gives up on this run

    def objective(self, x):
        """The loss and its gradient at ``x``; ``_Converged`` once the loss stops falling."""
        if self.stopped.is_set():  # given up on by the caller: end before another evaluation
            raise Cancelled("stopped at the caller's request")
        image = tf.constant(x.reshape(self.shape), tf.float32)
        total, parts, grad = self.fn(image, *self.targets, self.loss_weights)
        total = float(total)
        self.history.append(total)
        if total < self.best_loss:
            self.best_loss, self.best_x, self.best_parts = total, x.copy(), parts.numpy()
        old = self.history[-PATIENCE - 1] if len(self.history) > PATIENCE else None
        if old is not None and (old - min(self.history[-PATIENCE:])) < MIN_IMPROVEMENT * abs(old):
            raise _Converged
        return total, grad.numpy().ravel().astype("float64")

    def minimise(self, max_evals: int) -> None:
        """Run L-BFGS-B on the pixels, bounded to 0..1, for at most ``max_evals`` evaluations."""
        size = self.best_x.size
        try:
            scipy.optimize.minimize(
                self.objective,
                self.best_x,
                jac=True,
                method="L-BFGS-B",
                bounds=scipy.optimize.Bounds(np.zeros(size), np.ones(size)),
                options={"maxiter": max_evals, "maxfun": max_evals, "maxcor": 20},
            )
        except _Converged:
            pass

    def report(self, on_eval) -> None:
        """Call ``on_eval()`` once for each evaluation done since the last report."""
        while self.reported < len(self.history):
            self.reported += 1
            on_eval()


def _lbfgs_level(fn, image, targets, loss_weights, max_evals, on_eval, should_stop=None):
    """Minimise one pyramid level with L-BFGS-B; returns (best image, parts, evaluations).

    The optimiser runs through ``stoppable.call``: a cancel does not wait for an evaluation or an
    L-BFGS iteration (each seconds at 1024 px on a CPU) to end; ``on_eval`` (progress, which
    writes to the job's database) runs in the caller's thread once per evaluation done."""
    level = _Level(fn, image, targets, loss_weights)
    stoppable.call(
        should_stop,
        level.minimise,
        max_evals,
        stopped=level.stopped,
        on_wait=functools.partial(level.report, on_eval),
    )
    best = level.best_x.reshape(level.shape).astype("float32")
    return best, level.best_parts, len(level.history)


def _upsample_delta(image, coarse_content, content):
    """Start a finer level from the sharp content plus the upsampled stylization change."""
    delta = tf.image.resize(image - coarse_content, content.shape[1:3], method="bicubic")
    return np.clip(content + delta.numpy(), 0.0, 1.0)


def _check_images(content, style) -> None:
    """ValueError unless both are HxWx3 (or HxW) image arrays."""
    for name, image in (("content", content), ("style", style)):
        if (
            image is None
            or np.asarray(image).ndim not in (2, 3)
            or min(np.asarray(image).shape[:2]) < 1
        ):
            shape = None if image is None else np.asarray(image).shape
            raise ValueError(
                f"`{name}` must be an HxWx3 image array. Received: {name} of shape {shape}"
            )


def initial_image(
    content: np.ndarray,
    style: np.ndarray,
    strength: float,
    side: int,
    init: str = "arbitrary",
    init_model_dir=None,
) -> tuple[np.ndarray, str]:
    """The (1, H, W, 3) picture L-BFGS starts from at long side ``side``, and what it is.

    "arbitrary": the pretrained fast network's picture (ml/style/fast_style.py) blended with the photo
    by ``INIT_BLEND * strength`` (capped at 1); "content": the photo. Without a usable
    ``init_model_dir`` it falls back to the photo and says why.
    """
    if init not in ("arbitrary", "content"):
        raise ValueError(f"`init` must be 'arbitrary' or 'content'. Received: init={init!r}")
    photo = resize_long_side(content, side)[None]
    if init == "content" or strength == 0.0:
        return photo, "content"
    if init_model_dir is None:
        return photo, "content (the arbitrary model folder is not available)"
    try:
        model = cached(init_model_dir, ArbitraryStylizer.load)
        picture = model.stylize(content, style, strength=1.0, size=side)
    except (ValueError, OSError) as exc:
        return photo, f"content (the arbitrary model could not be used: {exc})"
    blend = min(1.0, INIT_BLEND * strength)
    return (1.0 - blend) * photo + blend * (
        picture[None].astype("float32") / 255.0
    ), f"arbitrary x{blend:g}"


def stylize(
    content: np.ndarray,
    style: np.ndarray,
    strength: float = 0.5,
    size: int = 512,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    weights="hed",
    *,
    init: str = "content",
    init_model_dir=None,
    pyramid=PYRAMID,
    tv_weight: float = TV_WEIGHT,
    style_weight: float | None = None,
    max_evals: int = MAX_EVALS,
    min_side: int | None = None,
):
    """Fast Gatys style transfer; returns (uint8 HxWx3 image with long side ``size``, stats).

    Below ``min_side`` (default MIN_SIDE) the picture is made at ``min_side`` and scaled down.

    ``strength`` as ml/style/strength.py defines it: 0 is the photo (no optimisation); above 0 the
    picture is optimised at the style knob ``style_space(strength)`` and mixed with the photo
    by ``strength``. Starts from ``initial_image`` (the photo by default) and refines it with
    L-BFGS-B on the layer-balanced Gatys objective; the knob sets the starting style weight
    (``strength_to_style_weight``; ``style_weight`` overrides it) and the outcome asked for
    (``own_style_target``): while the optimiser's own style loss is above that fraction of the
    photo's, the weight is raised x10 and the refinement goes on, up to ``max_evals``
    evaluations in all. ``stats["own_style_ratio"]`` is where it ended (before the mix).
    """
    _check_images(content, style)
    strength = check_strength(strength)
    if strength == 0.0:  # the photo itself, at the size asked for: nothing to optimise
        return to_uint8(resize_long_side(content, size)), _photo_stats()
    min_side = MIN_SIDE if min_side is None else min_side
    painting = _Painting(content, style, strength, weights, should_stop, init, init_model_dir)
    image, stats = _paint(
        painting,
        max(size, min_side),
        progress,
        pyramid=pyramid,
        tv_weight=tv_weight,
        style_weight=style_weight,
        max_evals=max_evals,
    )
    if size >= min_side:
        return image, stats
    h, w = resize_long_side(content, size).shape[:2]
    small = np.asarray(Image.fromarray(image).resize((w, h), Image.LANCZOS))
    return small, {**stats, "painted_at": int(min_side)}


class _Painting:
    """One stylization's optimisation state: what it was asked, the picture so far, what it cost.

    The pyramid's levels and the continuation rounds of the last level all update this one
    object, coarse to fine, so ``_paint`` reads as a plain loop.
    """

    def __init__(self, content, style, strength, weights, should_stop, init, init_model_dir):
        self.content, self.style, self.strength = content, style, strength
        self.weights, self.should_stop = weights, should_stop
        self.init, self.init_model_dir = init, init_model_dir
        self.image = None  # (1, H, W, 3) 0..1, the picture being optimised
        self.photo = None  # the photo at the current level's side
        self.started_from = "content"
        self.steps = self.rounds = 0  # L-BFGS evaluations and rounds, over all levels
        self.parts = None  # the last round's best [style, content, tv] losses
        self.ratio = 1.0  # its style loss over the photo's own (on the last level)
        self.weight = 0.0  # the style weight of the last round

    def start_level(self, side: int, extractor):
        """Move to a level of long side ``side``; return the photo's features and the targets.

        The first level starts from ``initial_image``, a finer one from the sharp photo plus the
        upsampled change made so far. Each step here is seconds at 1024 px on a CPU, so each can
        be cancelled on its own.
        """
        stop = self.should_stop
        photo = resize_long_side(self.content, side)[None]
        if self.image is None:
            self.image, self.started_from = stoppable.call(
                stop,
                initial_image,
                self.content,
                self.style,
                self.strength,
                side,
                self.init,
                self.init_model_dir,
            )
        else:
            self.image = _upsample_delta(self.image, self.photo, photo)
        self.photo = photo
        content_feats = stoppable.call(stop, features_inside, extractor, photo)
        grams = stoppable.call(stop, style_grams, self.style, side, self.weights)
        return content_feats, (grams, content_feats[len(STYLE_LAYERS) :])

    def optimise(self, fn, targets, weight, tv_weight, evals, on_eval, photo_style, goal, budget):
        """L-BFGS rounds on the current level at style weight ``weight``.

        With a ``goal`` (the last level) the weight is raised x10 for another ``CONTINUE_EVALS``
        evaluations while the style loss over ``photo_style`` is above it, until ``budget``
        evaluations have been spent in all.
        """
        while True:
            loss_weights = tf.constant([weight, 1.0, tv_weight], tf.float32)
            self.image, self.parts, done = _lbfgs_level(
                fn, self.image, targets, loss_weights, evals, on_eval, self.should_stop
            )
            self.steps, self.rounds = self.steps + done, self.rounds + 1
            self.ratio = float(self.parts[0]) / max(photo_style, 1e-12)
            evals = min(CONTINUE_EVALS, budget - self.steps)
            if goal is None or self.ratio <= goal or evals <= 0:
                break
            weight *= 10.0
        self.weight = weight


class _Meter:
    """Progress over the pyramid, in pixels evaluated: each evaluation of a level costs side**2."""

    def __init__(self, progress: Progress | None, should_stop, levels, max_evals: int):
        self.progress, self.should_stop, self.levels = progress, should_stop, levels
        planned = sum(n for _, n in levels)
        extra = levels[-1][0] ** 2 * (max_evals - planned)  # the last level's continuation
        self.budget = sum(s * s * n for s, n in levels) + extra
        self.done = 0.0

    def evaluated(self, level: int) -> None:
        """One evaluation on ``level`` done: report it, and stop here when asked to."""
        check_stop(self.should_stop)
        side = self.levels[level][0]
        self.done += side * side
        if self.progress is not None:
            self.progress(
                min(self.done / self.budget, 0.99),
                f"level {level + 1}/{len(self.levels)} at {side} px",
            )

    def level_done(self, level: int) -> None:
        """The levels up to ``level`` count as fully spent, however early they stopped."""
        self.done = sum(s * s * n for s, n in self.levels[: level + 1])


def _paint(painting: _Painting, size, progress, *, pyramid, tv_weight, style_weight, max_evals):
    """``stylize`` at long side ``size``: the pyramid's levels, coarse to fine."""
    knob = style_space(painting.strength)  # the style weight's own share, then the mix
    style_weight = strength_to_style_weight(knob) if style_weight is None else style_weight
    target = own_style_target(knob)
    extractor, fn = _fast_objective(painting.weights)
    levels = _capped([(max(32, int(round(size * f))), n) for f, n in pyramid], max_evals)
    max_evals = max(max_evals, sum(n for _, n in levels))
    meter = _Meter(progress, painting.should_stop, levels, max_evals)
    start = time.perf_counter()
    for level, (side, level_evals) in enumerate(levels):
        check_stop(painting.should_stop)
        content_feats, targets = painting.start_level(side, extractor)
        if style_weight == 0.0:
            continue  # no style asked for: the photo is the answer
        last = level == len(levels) - 1
        photo_style = 1.0
        if last:  # the photo's own style loss, which the outcome asked for is a fraction of
            losses = stoppable.call(
                painting.should_stop, normalized_losses, content_feats, *targets
            )
            photo_style = float(losses[0])
        painting.optimise(
            fn,
            targets,
            style_weight,
            tv_weight,
            level_evals,
            functools.partial(meter.evaluated, level),
            photo_style,
            target if last else None,
            max_evals,
        )
        meter.level_done(level)
    if progress is not None:
        progress(1.0, "done")
    return _painted(painting, start, tv_weight, target)


def _painted(painting: _Painting, start: float, tv_weight: float, target: float):
    """The finished picture mixed with the photo by strength, and the run's stats."""
    final_weights = np.array([painting.weight, 1.0, tv_weight])
    parts = painting.parts if painting.parts is not None else np.zeros(3)
    stats = _stats(painting.steps, start, parts, final_weights)
    image = with_photo(np.asarray(painting.image)[0], painting.photo[0], painting.strength)
    return to_uint8(image), {
        **stats,
        "init": painting.started_from,
        "style_weight": float(final_weights[0]),
        "own_style_ratio": round(painting.ratio, 5),
        "own_style_target": round(target, 5),
        "rounds": painting.rounds,
    }


def _capped(levels: list[tuple[int, int]], max_evals: int) -> list[tuple[int, int]]:
    """The pyramid's (side, evaluations) with no more than ``max_evals`` evaluations in all
    (at least one per level): an operator's cap on what one picture may cost (NST_MAX_EVALS)."""
    out, left = [], max(int(max_evals), len(levels))
    for i, (side, n) in enumerate(levels):
        n = max(1, min(n, left - (len(levels) - 1 - i)))
        out.append((side, n))
        left -= n
    return out


def _photo_stats() -> dict:
    """The stats of strength 0: the photo, no evaluation."""
    return {
        **_stats(0, time.perf_counter(), np.zeros(3), np.zeros(3)),
        "init": "content",
        "style_weight": 0.0,
        "own_style_ratio": 1.0,
        "own_style_target": 1.0,
        "rounds": 0,
    }


def _stats(steps, start, parts, loss_weights) -> dict:
    """The stats dict returned by both entry points."""
    parts = np.asarray(parts, "float64") * np.asarray(loss_weights, "float64")
    return {
        "steps": int(steps),
        "seconds": round(time.perf_counter() - start, 3),
        "style_loss": float(parts[0]),
        "content_loss": float(parts[1]),
        "tv_loss": float(parts[2]),
    }


def tutorial_nst(
    content: np.ndarray,
    style: np.ndarray,
    size: int = 512,
    steps: int = 1000,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    weights="hed",
    learning_rate: float = 0.02,
):
    """The TensorFlow tutorial's algorithm (the benchmark baseline); returns (image, stats)."""
    _check_images(content, style)
    layers = STYLE_LAYERS + CONTENT_LAYERS
    extractor = feature_extractor(weights, layers)
    content01 = resize_long_side(content, size)[None]
    targets = (
        style_grams(style, size, weights),
        features_inside(extractor, content01)[len(STYLE_LAYERS) :],
    )
    # The tutorial's TV term sums over pixels; ours is per pixel, so scale it by the pixel count.
    pixels = content01.shape[1] * content01.shape[2]
    loss_weights = tf.constant(
        [STYLE_WEIGHT, CONTENT_WEIGHT, TUTORIAL_TV_WEIGHT * pixels], tf.float32
    )
    fn = _loss_and_grad_fn(extractor)
    image = tf.Variable(content01)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def train_step():
        total, parts, grad = fn(image, *targets, loss_weights)
        optimizer.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return parts

    start = time.perf_counter()
    for step in range(steps):
        check_stop(should_stop)
        parts = train_step()
        if progress is not None:
            progress((step + 1) / steps, f"step {step + 1}/{steps}")
    return to_uint8(image.numpy()), _stats(steps, start, parts.numpy(), loss_weights.numpy())


__all__ = [
    "Cancelled",
    "stylize",
    "tutorial_nst",
    "strength_to_style_weight",
    "gram_matrix",
    "resize_long_side",
    "to_uint8",
    "feature_extractor",
    "style_grams",
]
