"""The one entry point for style transfer, used by the web app's job worker and the CLI.

    python -m ml.stylize CONTENT [STYLE] -o OUT.png [--method arbitrary|preset|nst|adain|NAME]
                         [--preset ID] [--size N] [--strength S] [--model-dir DIR]

Methods: ``arbitrary`` (pretrained fast network, any style picture; the default), ``preset``
(26 fixed styles, ``--preset ID``), ``nst`` (optimisation, minutes on a CPU), ``adain`` and fixed
CycleGAN styles (a trained model folder). Without ``--model-dir``, ``arbitrary`` and ``preset``
use the pretrained folder converted once into ``~/.cache/celebvision``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.errors import Cancelled

MAX_SIZE = 2048
MIN_SIZE = 32
PRETRAINED = ("arbitrary", "preset")
DEFAULT_CACHE = Path.home() / ".cache" / "celebvision"
_MODELS: dict = {}


@dataclass
class StyleResult:
    """A stylized uint8 HxWx3 image and how it was made (steps, seconds, losses...)."""

    image: np.ndarray
    stats: dict = field(default_factory=dict)


def check_args(
    content, style, method: str, strength: float, size: int, model_dir, preset=None
) -> None:
    """Raise ValueError with a clear message on bad arguments."""
    if content is None or np.asarray(content).ndim not in (2, 3):
        raise ValueError(
            "`content` must be an HxWx3 image array. Received: content=None or wrong shape"
        )
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"`strength` must be between 0 and 1. Received: strength={strength}")
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise ValueError(
            f"`size` must be between {MIN_SIZE} and {MAX_SIZE} pixels. Received: size={size}"
        )
    if method in ("nst", "adain", "arbitrary") and style is None:
        raise ValueError(f"Method {method!r} needs a style image. Received: style=None")
    if method == "preset" and (
        preset is None or isinstance(preset, bool) or not isinstance(preset, (int, np.integer))
    ):
        raise ValueError(
            f"Method 'preset' needs a preset id (an integer). Received: preset={preset!r}"
        )
    if method not in ("nst",) + PRETRAINED and model_dir is None:
        raise ValueError(
            f"Method {method!r} needs a trained model folder. Received: model_dir=None"
        )


# The arbitrary method's strength before ratings teach one: the highest of 0.05, 0.1, .., 0.6, 0.8,
# 1 up to which the subject check (ml.judge.subject_check) passes on the astronaut at 256 px in
# the style of each of coffee, immunohistochemistry and the astronaut (`python
# bench/style_calibrate.py --methods arbitrary --size 256`, docs/style.md); coffee's loses the
# face at 0.8 and 1.
ARBITRARY_DEFAULT_STRENGTH = 0.6


def default_strength(method: str, preset: int | None = None) -> float:
    """A method's own strength before ratings teach one, chosen so the subject stays
    recognisable: nst 0.5, arbitrary ARBITRARY_DEFAULT_STRENGTH, a preset its own
    (ml.fast_style.PRESET_DEFAULT_STRENGTH), the others 1."""
    if method == "preset" and preset is not None:
        from ml.fast_style import PRESET_DEFAULT_STRENGTH

        return PRESET_DEFAULT_STRENGTH.get(int(preset), 1.0)
    return {"nst": 0.5, "arbitrary": ARBITRARY_DEFAULT_STRENGTH}.get(method, 1.0)


def load_model(model_dir):
    """The stylizer of ``model_dir`` (by its kind), loaded once per process."""
    from ml.modeldir import read_meta

    key = str(Path(model_dir).resolve())
    if key not in _MODELS:
        kind = read_meta(model_dir)["kind"]
        if kind == "adain":
            from ml.adain import AdaINStylizer as loader
        elif kind == "cyclegan":
            from ml.cyclegan import FixedStyle as loader
        elif kind == "arbitrary":
            from ml.fast_style import ArbitraryStylizer as loader
        elif kind == "preset":
            from ml.fast_style import PresetStylizer as loader
        else:
            raise ValueError(f"{model_dir} holds a {kind!r} model, not a style model")
        _MODELS[key] = loader.load(model_dir)
    return _MODELS[key]


def run(
    content: np.ndarray,
    style: np.ndarray | None,
    method: str = "nst",
    strength: float = 0.5,
    size: int = 512,
    model_dir=None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    weights="hed",
    preset: int | None = None,
    init: str = "content",
    init_model_dir=None,
) -> StyleResult:
    """Stylize ``content`` with ``method``: "arbitrary", "preset", "nst", "adain" or a fixed style.

    ``model_dir`` is a model folder of the method's kind ("arbitrary" and "preset" default to
    the pretrained folder in DEFAULT_CACHE); ``preset`` the fixed style's id for "preset".
    ``weights`` picks nst's feature network: "hed" (offline VGG16), "imagenet" (Keras' VGG19,
    downloaded once) or a local weights file. ``init`` is nst's start ("arbitrary": the fast
    network's picture from ``init_model_dir``, by default the pretrained folder in DEFAULT_CACHE;
    "content": the photo, the default); without a usable folder nst starts from the photo and says
    so in stats.
    """
    import time

    from ml.errors import check_stop

    check_args(content, style, method, strength, size, model_dir, preset)
    if method == "nst":
        from ml import nst

        if init == "arbitrary" and init_model_dir is None:  # the start before issue 21
            # a first conversion reports 0..1 of its own: keep it in the job's first 5 %
            say = (
                None
                if progress is None
                else (lambda fraction, message: progress(0.05 * fraction, message))
            )
            init_model_dir = _pretrained_or_none("arbitrary", say)
        image, stats = nst.stylize(
            content,
            style,
            strength=strength,
            size=size,
            progress=progress,
            should_stop=should_stop,
            weights=weights,
            init=init,
            init_model_dir=init_model_dir,
        )
        return StyleResult(image, {"method": "nst", **stats})
    start = time.perf_counter()
    check_stop(should_stop)
    if model_dir is None:
        from ml.fast_style import pretrained_model_dir

        model_dir = pretrained_model_dir(method, DEFAULT_CACHE, progress)
    model = load_model(model_dir)
    kind = type(model).__name__
    if (
        method in PRETRAINED
        and kind != {"arbitrary": "ArbitraryStylizer", "preset": "PresetStylizer"}[method]
    ):
        raise ValueError(
            f"Method {method!r} needs an {method!r} model folder. Received: model_dir={str(model_dir)!r}"
        )
    if progress is not None:
        progress(0.1, "model loaded")
    if method == "preset":
        image = model.stylize(content, preset, strength=strength, size=size)
    elif kind in ("ArbitraryStylizer", "AdaINStylizer"):
        image = model.stylize(content, style, strength=strength, size=size)
    else:
        image = model.stylize(content, strength=strength, size=size)
    if progress is not None:
        progress(1.0, "done")
    stats = {"method": method, "steps": 1, "seconds": round(time.perf_counter() - start, 3)}
    if method == "preset":
        stats["preset"] = {"id": int(preset), "name": model.presets[int(preset) - 1]["name"]}
    return StyleResult(image, stats)


def _pretrained_or_none(kind: str, progress=None):
    """The pretrained ``kind`` folder in DEFAULT_CACHE, or None when the wheel is missing."""
    from ml.fast_style import pretrained_model_dir

    try:
        return pretrained_model_dir(kind, DEFAULT_CACHE, progress)
    except (ValueError, OSError):
        return None


def read_image(path) -> np.ndarray:
    """An RGB uint8 array from an image file; ValueError with the reason if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from None


def parse_args(argv):
    """The CLI's arguments."""
    parser = argparse.ArgumentParser(prog="python -m ml.stylize", description="Stylize a photo.")
    parser.add_argument("content")
    parser.add_argument("style", nargs="?")
    parser.add_argument("-o", "--out", required=True)
    parser.add_argument(
        "--method",
        default="arbitrary",
        help="arbitrary, preset, nst, adain or a fixed style's name",
    )
    parser.add_argument(
        "--preset", type=int, help="the fixed style's id (1..26) for --method preset"
    )
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--strength", type=float, default=None)
    parser.add_argument("--model-dir")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """CLI: one-line message and exit status 2 on bad input; tqdm progress bar."""
    from tqdm import tqdm

    args = parse_args(argv)
    strength = (
        args.strength if args.strength is not None else default_strength(args.method, args.preset)
    )
    try:
        content = read_image(args.content)
        style = read_image(args.style) if args.style else None
        with tqdm(total=100, unit="%", desc=args.method) as bar:

            def progress(fraction, message):
                bar.set_postfix_str(message)
                bar.update(round(fraction * 100) - bar.n)

            result = run(
                content,
                style,
                args.method,
                strength,
                args.size,
                args.model_dir,
                progress,
                preset=args.preset,
            )
        from PIL import Image

        Image.fromarray(result.image).save(args.out)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("error: cancelled", file=sys.stderr)
        return 130
    print(f"wrote {args.out} ({result.stats.get('seconds', 0):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
