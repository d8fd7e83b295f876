"""What ``strength`` means for every style method (issue 21): 0 the photo, 1 the full style.

Every method renders its picture with the network's own style knob at ``style_space(strength)``
(the arbitrary network's style vector, AdaIN's alpha: half-way to full between 0 and 1) and then
mixes it with the photo by ``strength`` (``with_photo``). Blending in the style space alone starts
from the network's rendering of the photo in the photo's own style, which is already painted and
on some photos further from the style picture than the photo itself; mixing the pixels alone is a
cross-fade. Both together were the one reading, of the four measured, whose judge style distance
fell and content distance rose at every step of 0, 0.25, .., 1 on every pair, with the most even
steps (docs/style.md, "What strength means"). Methods without a style knob (presets, CycleGAN
styles) mix the pixels only; ``nst`` calibrates its own outcome (ml/style/nst.py).
"""

from __future__ import annotations

import numpy as np

STYLE_SPACE_AT_0 = 0.5  # the style knob at strength 0+ (never used at exactly 0: the photo)


def check(strength) -> float:
    """``strength`` as a float in 0..1 or ValueError."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"`strength` must be between 0 and 1. Received: strength={strength!r}")
    return value


def style_space(strength: float) -> float:
    """The network's own style knob (style-vector share, AdaIN alpha) at ``strength``."""
    return STYLE_SPACE_AT_0 + (1.0 - STYLE_SPACE_AT_0) * float(strength)


def with_photo(styled: np.ndarray, photo: np.ndarray, strength: float) -> np.ndarray:
    """The float 0..1 ``styled`` picture mixed with the same-shape ``photo`` by ``strength``."""
    s = float(strength)
    return np.asarray(styled, np.float32) * s + np.asarray(photo, np.float32) * (1.0 - s)
