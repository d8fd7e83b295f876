"""Calibration of `nst`'s strength against ml/judge.py on fixed photo/style pairs.

    python bench/style_calibrate.py            # 512 px, all pairs, strengths 0..1 (an hour or more on a CPU)
    python bench/style_calibrate.py --quick    # 256 px, first two pairs, strengths 0, 0.25, 0.5, 1

For each pair and strength it prints the judge's (ml/judge.py) style distance as a fraction of the
photo's own (the targets: below 0.1x at 0.5 and below 0.05x at 1.0 at 512 px), the judge's content
distance, the optimiser's own style loss over the photo's (and the target strength asked for:
ml.nst.own_style_target), the final style weight, the seconds and the evaluations, then whether
the style ratio falls monotonically with strength.
Results are saved as PNGs under --out (bench/out/).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from anywhere: `python bench/...`

import argparse
import os
import time

PAIRS = "astronaut:immunohistochemistry,chelsea:coffee,coffee:rocket,astronaut:hubble_deep_field"
TARGETS = {0.5: 0.1, 1.0: 0.05}


def parse_args(argv):
    """The calibration's flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--pairs", default=PAIRS, help="CONTENT:STYLE[,...] skimage.data names")
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--init", default="arbitrary", choices=("arbitrary", "content"))
    parser.add_argument(
        "--quick", action="store_true", help="256 px, two pairs, strengths 0, 0.25, 0.5, 1"
    )
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "celebvision"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.strengths = min(args.size, 256), "0,0.25,0.5,1"
        args.pairs = ",".join(args.pairs.split(",")[:2])
    args.strengths = [float(s) for s in args.strengths.split(",")]
    return args


def calibrate_pair(args, pair: str, model_dir) -> list[tuple]:
    """(strength, judge's style ratio, content distance, seconds, evaluations) for one pair."""
    from PIL import Image
    from skimage import data

    from ml import judge, nst

    content_name, style_name = pair.split(":")
    content, style = getattr(data, content_name)(), getattr(data, style_name)()
    own = judge.style_distance(nst.to_uint8(nst.resize_long_side(content, args.size)), style)
    rows = []
    for strength in args.strengths:
        start = time.perf_counter()
        image, stats = nst.stylize(
            content,
            style,
            strength=strength,
            size=args.size,
            init=args.init,
            init_model_dir=model_dir,
        )
        seconds = time.perf_counter() - start
        ratio = judge.style_distance(image, style) / own
        rows.append(
            (strength, ratio, judge.content_distance(image, content), seconds, stats["steps"])
        )
        target = TARGETS.get(strength)
        verdict = (
            ""
            if target is None
            else (" (target met)" if ratio < target else f" (target < {target}x missed)")
        )
        own_ratio = (
            f"{stats['own_style_ratio']:.4f} / {stats['own_style_target']:.4f}" if strength else "-"
        )
        print(
            f"| {pair} | {strength:g} | {ratio:.4f}x{verdict} | {rows[-1][2]:.3f} | {own_ratio} | "
            f"{stats['style_weight']:.3g} | {seconds:.1f} | {stats['steps']} |",
            flush=True,
        )
        Image.fromarray(image).save(
            Path(args.out) / f"calibrate-{pair.replace(':', '_')}-{args.size}-s{strength:g}.png"
        )
    return rows


def main(argv=None) -> int:
    """Print the calibration table; exit status 1 when a curve is not monotone."""
    from ml.fast_style import pretrained_model_dir

    args = parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    model_dir = pretrained_model_dir("arbitrary", args.cache) if args.init == "arbitrary" else None
    print(
        f"size {args.size} px, start from {args.init}; load average {os.getloadavg()[0]:.1f} at start"
    )
    print(
        "| pair | strength | judge: style distance / photo's | judge: content distance "
        "| nst's own style loss / photo's (target) | final style weight | seconds | evaluations |"
    )
    print("|---|---|---|---|---|---|---|---|")
    monotone = True
    for pair in args.pairs.split(","):
        ratios = [row[1] for row in calibrate_pair(args, pair, model_dir)]
        monotone &= all(a >= b for a, b in zip(ratios, ratios[1:]))
    print(
        f"style ratio falls monotonically with strength on every pair: {'yes' if monotone else 'NO'}; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    return 0 if monotone else 1


if __name__ == "__main__":
    sys.exit(main())
