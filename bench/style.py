"""Benchmark: fast `nst` (and AdaIN / CycleGAN when model folders are given) vs the tutorial algorithm.

    python bench/style.py --size 512 --tutorial-steps 1000          # full run (about 30 min here)
    python bench/style.py --size 256 --tutorial-steps 50            # quick run, tutorial extrapolated

The tutorial algorithm is timed in the same run; when --tutorial-steps is below 1000 its time
is extrapolated linearly to 1000 steps and the row says so (its fidelity is then that of the
shorter run). Fidelity is ml.judge's style and content distances (lower is closer).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: `python bench/...`

import argparse
import platform
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


def rows_for(args, content, style):
    """Benchmark rows: tutorial first, then the methods under test."""
    from ml import nst

    rows = []
    (img, _), secs = timed(lambda: nst.tutorial_nst(content, style, size=args.size, steps=args.tutorial_steps))
    full = secs * 1000 / args.tutorial_steps
    note = "" if args.tutorial_steps == 1000 else f" (timed {args.tutorial_steps} steps, x{1000 / args.tutorial_steps:g})"
    rows.append((f"tutorial 1000 steps{note}", img, full))
    (img, stats), secs = timed(lambda: nst.stylize(content, style, strength=args.strength, size=args.size))
    rows.append((f"nst (L-BFGS, {stats['steps']} evals)", img, secs))
    if args.adain:
        from ml.adain import AdaINStylizer

        model = AdaINStylizer.load(args.adain)
        model.stylize(content, style, size=64)  # warm-up: graph building is not stylizing
        img, secs = timed(lambda: model.stylize(content, style, size=args.size))
        rows.append(("adain", img, secs))
    return rows, full


def main(argv=None) -> None:
    """Parse flags, run, print one Markdown table."""
    from ml import judge

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--tutorial-steps", type=int, default=1000)
    parser.add_argument("--strength", type=float, default=0.5)
    parser.add_argument("--pair", default="astronaut:coffee", help="CONTENT:STYLE skimage.data names")
    parser.add_argument("--adain", help="an adain model folder to include")
    args = parser.parse_args(argv)
    content, style = sample_pair(args.pair)
    rows, baseline = rows_for(args, content, style)
    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPUs; "
          f"pair {args.pair}; size {args.size}")
    print("| method | size | seconds | ratio to tutorial | style distance | content distance |")
    print("|---|---|---|---|---|---|")
    for name, img, secs in rows:
        print(f"| {name} | {args.size} | {secs:.1f} | {baseline / secs:.1f}x | "
              f"{judge.style_distance(img, style):.3f} | {judge.content_distance(img, content):.3f} |", flush=True)


if __name__ == "__main__":
    main()
