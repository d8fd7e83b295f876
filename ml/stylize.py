"""The one entry point for style transfer, used by the web app's job worker and the CLI.

    python -m ml.stylize CONTENT [STYLE] -o OUT.png [--method arbitrary|preset|nst|adain|NAME]
                         [--preset ID] [--size N] [--strength S] [--model-dir DIR]

Methods are the entries of ``ml.style.methods``: ``arbitrary`` (pretrained fast network, any style
picture; the default), ``preset`` (26 fixed styles, ``--preset ID``), ``nst`` (optimisation,
minutes on a CPU), ``adain`` and fixed CycleGAN styles (a trained model folder; a fixed style is
named by its own name). Without ``--model-dir``, ``arbitrary`` and ``preset`` use the pretrained
folder converted once into ``~/.cache/celebvision``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
from PIL import Image
from tqdm import tqdm

from ml import kinds
from ml.common import stoppable
from ml.common.images import read_image
from ml.common.stoppable import Cancelled, check_stop
from ml.style import methods
from ml.style.fast_style import pretrained_model_dir
from ml.style.methods import DEFAULT_CACHE, MAX_SIZE, MIN_SIZE, StyleCall, StyleResult

__all__ = ["DEFAULT_CACHE", "MAX_SIZE", "MIN_SIZE", "Cancelled", "StyleResult", "run", "main"]


def method_for(method: str, model_dir=None) -> methods.StyleMethod:
    """The registered method ``method``; another name is a fixed style named by its folder's kind."""
    found = methods.find(method)
    if found is not None:
        return found
    if model_dir is None:
        raise ValueError(
            f"Method {method!r} needs a trained model folder. Received: model_dir=None"
        )

    found = methods.for_model(kinds.kind_of(model_dir))
    if found is None:
        raise ValueError(f"{model_dir} holds no style model. Received: method={method!r}")
    return found


def default_strength(method: str, preset: int | None = None, model_dir=None) -> float:
    """A method's own strength before ratings teach one (the method entry's)."""
    return method_for(method, model_dir).default_strength(preset)


def load_model(model_dir):
    """The stylizer of a style model folder (by its kind), loaded once per process."""
    style_kinds = tuple(m.model_kind for m in methods.METHODS.values() if m.model_kind)
    return kinds.load(model_dir, expect=style_kinds)


def _model(entry: methods.StyleMethod, call: StyleCall):
    """The loaded folder ``entry`` runs: the given one (of its kind) or its pretrained one."""
    model_dir = call.model_dir
    if model_dir is None:
        model_dir = pretrained_model_dir(entry.model_kind, DEFAULT_CACHE, call.progress)
    if kinds.kind_of(model_dir) != entry.model_kind:
        raise ValueError(
            f"Method {call.method!r} needs an {entry.model_kind!r} model folder. "
            f"Received: model_dir={str(model_dir)!r}"
        )
    return kinds.load(model_dir)


def run(
    content: np.ndarray,
    style: np.ndarray | None,
    method: str = "nst",
    strength: float | None = None,
    size: int = 512,
    model_dir=None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    weights="hed",
    preset: int | None = None,
    init: str = "content",
    init_model_dir=None,
    max_evals: int | None = None,
) -> StyleResult:
    """Stylize ``content`` with ``method`` (an ``ml.style.methods`` entry, or a fixed style's name)
    at ``strength`` (0..1; by default the method's own).

    ``model_dir`` is a model folder of the method's kind ("arbitrary" and "preset" default to
    the pretrained folder in DEFAULT_CACHE); ``preset`` the fixed style's id for "preset".
    ``weights`` picks nst's feature network: "hed" (offline VGG16), "imagenet" (Keras' VGG19,
    downloaded once) or a local weights file. ``init`` is nst's start ("arbitrary": the fast
    network's picture from ``init_model_dir``, by default the pretrained folder in DEFAULT_CACHE;
    "content": the photo, the default); without a usable folder nst starts from the photo and says
    so in stats. ``max_evals`` caps an optimising method's (nst's) evaluations: its cost.
    """
    entry = methods.find(method)
    if strength is None:  # the method's own (a fixed style's, when it is named by its own name)
        strength = (entry or methods.FIXED_STYLE).default_strength(preset)
    call = StyleCall(
        method, content, style, strength, size, model_dir, progress, should_stop, weights,
        preset, init, init_model_dir, max_evals,
    )  # fmt: skip
    if entry is None:  # a fixed style by its own name: its folder says which method paints it
        methods.FIXED_STYLE.check(call)
        entry = method_for(method, model_dir)
    entry.check(call)
    if not entry.one_pass:
        return entry.render(call, None)
    start = time.perf_counter()
    check_stop(should_stop)
    model = _model(entry, call) if entry.model_kind else None
    if progress is not None:
        progress(0.1, "model loaded")
    result = stoppable.call(should_stop, entry.render, call, model)  # cancel never waits for it
    if progress is not None:
        progress(1.0, "done")
    seconds = round(time.perf_counter() - start, 3)
    result.stats = {"method": method, "steps": 1, "seconds": seconds, **result.stats}
    return result


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
    args = parse_args(argv)
    try:
        strength = args.strength
        if strength is None:
            strength = default_strength(args.method, args.preset, args.model_dir)
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
