"""A fixed judge of style-transfer fidelity, independent of how a result was made.

The judge is the offline HED VGG16 with a fixed layer set. Both distances are relative, so 0
means identical statistics and results of different sizes can be compared:

* ``style_distance(result, style)``: mean over block1_conv1..block5_conv1 of
  ||G(result) - G(style)||_F / ||G(style)||_F, with the style image resized to the result's
  long side (texture scale follows the output).
* ``content_distance(result, content)``: ||F(result) - F(content)|| / ||F(content)|| at
  block4_conv2, with the content image resized to the result's size.
"""
from __future__ import annotations

import numpy as np

JUDGE_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
JUDGE_CONTENT_LAYER = "block4_conv2"


def _judge_model():
    """The judge's feature extractor (cached by ml.nst.feature_extractor)."""
    from ml.nst import feature_extractor

    return feature_extractor("hed", JUDGE_STYLE_LAYERS + (JUDGE_CONTENT_LAYER,))


def _features(image: np.ndarray, long_side: int, shape=None):
    """Judge features of a uint8 image resized to ``long_side`` (or exactly to ``shape``)."""
    from PIL import Image

    from ml.nst import features, resize_long_side

    if shape is not None and np.asarray(image).shape[:2] != tuple(shape):
        image = np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(shape[::-1], Image.LANCZOS))
        return features(_judge_model(), (np.asarray(image, "float32") / 255.0)[None])
    return features(_judge_model(), resize_long_side(image, long_side)[None])


def style_distance(result: np.ndarray, style: np.ndarray) -> float:
    """Relative Gram-matrix distance of ``result`` to ``style`` (uint8 HxWx3 arrays); lower is closer."""
    from ml.nst import gram_matrix

    side = max(np.asarray(result).shape[:2])
    ours = _features(result, side, shape=np.asarray(result).shape[:2])[: len(JUDGE_STYLE_LAYERS)]
    theirs = _features(style, side)[: len(JUDGE_STYLE_LAYERS)]
    dists = []
    for a, b in zip(ours, theirs):
        ga, gb = gram_matrix(a).numpy(), gram_matrix(b).numpy()
        dists.append(np.linalg.norm(ga - gb) / (np.linalg.norm(gb) + 1e-8))
    return float(np.mean(dists))


def content_distance(result: np.ndarray, content: np.ndarray) -> float:
    """Relative block4_conv2 feature distance of ``result`` to ``content``; lower is closer."""
    shape = np.asarray(result).shape[:2]
    a = _features(result, max(shape), shape=shape)[-1].numpy()
    b = _features(content, max(shape), shape=shape)[-1].numpy()
    return float(np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-8))


def judge(result: np.ndarray, content: np.ndarray, style: np.ndarray | None) -> dict:
    """Both distances in one dict (style is None for fixed-style methods without a style image)."""
    out = {"content_distance": content_distance(result, content)}
    out["style_distance"] = None if style is None else style_distance(result, style)
    return out
