"""The one entry point for style transfer, used by the web app's job worker and the CLI.

    python -m ml.stylize CONTENT [STYLE] -o OUT.png [--method nst|adain|NAME] [--size N]
                         [--strength S] [--model-dir DIR]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ml.errors import Cancelled

MAX_SIZE = 2048
MIN_SIZE = 32
_MODELS: dict = {}


@dataclass
class StyleResult:
    """A stylized uint8 HxWx3 image and how it was made (steps, seconds, losses...)."""

    image: np.ndarray
    stats: dict = field(default_factory=dict)


def check_args(content, style, method: str, strength: float, size: int, model_dir) -> None:
    """Raise ValueError with a clear message on bad arguments."""
    if content is None or np.asarray(content).ndim not in (2, 3):
        raise ValueError("`content` must be an HxWx3 image array. Received: content=None or wrong shape")
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"`strength` must be between 0 and 1. Received: strength={strength}")
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise ValueError(f"`size` must be between {MIN_SIZE} and {MAX_SIZE} pixels. Received: size={size}")
    if method in ("nst", "adain") and style is None:
        raise ValueError(f"Method {method!r} needs a style image. Received: style=None")
    if method != "nst" and model_dir is None:
        raise ValueError(f"Method {method!r} needs a trained model folder. Received: model_dir=None")


def load_model(model_dir):
    """The AdaINStylizer or FixedStyle of ``model_dir``, loaded once per process."""
    from ml.modeldir import read_meta

    key = str(Path(model_dir).resolve())
    if key not in _MODELS:
        kind = read_meta(model_dir)["kind"]
        if kind == "adain":
            from ml.adain import AdaINStylizer as loader
        elif kind == "cyclegan":
            from ml.cyclegan import FixedStyle as loader
        else:
            raise ValueError(f"{model_dir} holds a {kind!r} model, not a style model")
        _MODELS[key] = loader.load(model_dir)
    return _MODELS[key]


def run(content: np.ndarray, style: np.ndarray | None, method: str = "nst", strength: float = 0.5,
        size: int = 512, model_dir=None, progress: Callable[[float, str], None] | None = None,
        should_stop: Callable[[], bool] | None = None, weights="hed") -> StyleResult:
    """Stylize ``content`` with ``method``: "nst", "adain" or a fixed style (a cyclegan model_dir).

    ``weights`` picks nst's feature network: "hed" (offline VGG16), "imagenet" (Keras' VGG19,
    downloaded once) or a local weights file.
    """
    import time

    from ml.errors import check_stop

    check_args(content, style, method, strength, size, model_dir)
    if method == "nst":
        from ml import nst

        image, stats = nst.stylize(content, style, strength=strength, size=size,
                                   progress=progress, should_stop=should_stop, weights=weights)
        return StyleResult(image, {"method": "nst", **stats})
    start = time.perf_counter()
    check_stop(should_stop)
    model = load_model(model_dir)
    if progress is not None:
        progress(0.1, "model loaded")
    if hasattr(model, "encoder"):
        image = model.stylize(content, style, strength=strength, size=size)
    else:
        image = model.stylize(content, strength=strength, size=size)
    if progress is not None:
        progress(1.0, "done")
    return StyleResult(image, {"method": method, "steps": 1, "seconds": round(time.perf_counter() - start, 3)})


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
    parser.add_argument("--method", default="nst", help="nst, adain or a fixed style's name")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--strength", type=float, default=None)
    parser.add_argument("--model-dir")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """CLI: one-line message and exit status 2 on bad input; tqdm progress bar."""
    from tqdm import tqdm

    args = parse_args(argv)
    strength = args.strength if args.strength is not None else (0.5 if args.method == "nst" else 1.0)
    try:
        content = read_image(args.content)
        style = read_image(args.style) if args.style else None
        with tqdm(total=100, unit="%", desc=args.method) as bar:
            def progress(fraction, message):
                bar.set_postfix_str(message)
                bar.update(round(fraction * 100) - bar.n)

            result = run(content, style, args.method, strength, args.size, args.model_dir, progress)
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
