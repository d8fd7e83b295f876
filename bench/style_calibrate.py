"""What `strength` does, per method and preset, judged by ml/style/judge.py.

    python bench/style_calibrate.py                      # arbitrary, the 26 presets, nst at 256 px
    python bench/style_calibrate.py --methods preset     # one method
    python bench/style_calibrate.py --methods nst --nst-pairs astronaut:coffee --size 256
    python bench/style_calibrate.py --model adain=models/adain --model vangogh=models/vangogh

For every method, photo/style pair (or preset) and strength of 0, 0.25, 0.5, 0.75, 1 it prints
the judge's style distance (to the style picture; for a preset or a fixed style, to the method's
own full-strength picture) and content distance (to the photo), the subject check
(ml.style.judge.subject_check: the face still found where it was, content distance within the bound)
and the seconds; then whether style distance falls and content distance rises at every step.
For `arbitrary`, `nst` and each preset it also prints the default strength each should start at:
the highest of 0.05, 0.1, .., 0.5, 0.6, 0.8, 1 (for `nst` 0.5, 0.6, 0.8, 1) up to which every
result keeps the subject on each of --default-photos (the astronaut: the one with a face), for
`arbitrary` and `nst` in the style of each of --pairs' style pictures (what
ml.style.methods.ARBITRARY_DEFAULT_STRENGTH, NST's strength and
ml.style.fast_style.PRESET_DEFAULT_STRENGTH hold), with the subject check at it.
Pictures go to --out (bench/out/, one sheet per row of strengths).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import argparse
import hashlib
import os
import time

import numpy as np

PAIRS = "astronaut:coffee,chelsea:immunohistochemistry,rocket:astronaut"
NST_PAIRS = "astronaut:coffee"
PRESET_PHOTOS = "astronaut,rocket"
DEFAULT_GRID = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05)
NST_GRID = (1.0, 0.8, 0.6, 0.5)
# What the closing table shows: (label, style distances, content distances, graded) per row and
# "default 0.6 | subject at it: ..." per method or preset; this script's own record, not a cache.
SUMMARY: list[tuple] = []
DEFAULTS: dict[str, str] = {}


def parse_args(argv):
    """The calibration's flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="arbitrary,preset,nst")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--pairs", default=PAIRS, help="CONTENT:STYLE[,...] skimage.data names")
    parser.add_argument("--nst-pairs", default=NST_PAIRS)
    parser.add_argument("--preset-photos", default=PRESET_PHOTOS)
    parser.add_argument("--presets", default="", help="ids, e.g. 4,7 (default: all 26)")
    parser.add_argument("--default-photos", default="astronaut", help="photos a default must keep")
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--model", action="append", default=[], help="NAME=DIR (adain, cyclegan)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "celebvision"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    parser.add_argument(
        "--summary-from", default="", help="LOG[,LOG..]: print the closing table of saved runs"
    )
    args = parser.parse_args(argv)
    args.strengths = [float(s) for s in args.strengths.split(",")]
    return args


def picture(name: str) -> np.ndarray:
    """A scikit-image sample picture as uint8 RGB."""
    from skimage import data

    image = getattr(data, name)()
    return np.stack([image] * 3, -1) if image.ndim == 2 else image[..., :3]


def judged_row(label, photo, style, outs: dict, seconds: dict, out_dir: Path) -> bool:
    """Print one line per strength and save the row as a sheet; True when graded both ways."""
    from PIL import Image

    from ml.style import judge

    styles, contents = [], []
    for strength, image in outs.items():
        s, subject = judge.style_distance(image, style), judge.subject_check(image, photo)
        styles.append(s)
        contents.append(subject["content"])
        face = "-" if subject["face_iou"] is None else f"{subject['face_iou']:.2f}"
        print(
            f"| {label} | {strength:g} | {s:.4f} | {subject['content']:.3f} | {face} | "
            f"{'kept' if subject['kept'] else 'LOST'} | {seconds[strength]:.1f} |",
            flush=True,
        )
    graded = all(a > b for a, b in zip(styles, styles[1:])) and all(
        a < b for a, b in zip(contents, contents[1:])
    )
    print(f"| {label} | graded | {'yes' if graded else 'NO'} | | | | |", flush=True)
    SUMMARY.append((label, styles, contents, graded))
    sheet = np.concatenate([np.asarray(o) for o in outs.values()], axis=1)
    name = label.replace(":", "_").replace(" ", "-")
    Image.fromarray(sheet).save(out_dir / f"calibrate-{name}.png")
    return graded


def timed(fn, *args) -> tuple[np.ndarray, float]:
    """fn(*args) and the seconds it took."""
    start = time.perf_counter()
    image = fn(*args)
    return image, time.perf_counter() - start


def calibrate_pairs(args, method: str, pairs: str, run) -> bool:
    """Rows for a method that takes a style picture: run(photo, style, strength) -> uint8."""
    ok = True
    for pair in pairs.split(","):
        content_name, style_name = pair.split(":")
        photo, style = picture(content_name), picture(style_name)
        outs, seconds = {}, {}
        for strength in args.strengths:
            outs[strength], seconds[strength] = timed(run, photo, style, strength)
        ok &= judged_row(f"{method} {pair}", photo, style, outs, seconds, Path(args.out))
    return ok


def calibrate_presets(args) -> bool:
    """Rows for the presets, and each preset's default strength."""
    from ml.style.fast_style import PresetStylizer, pretrained_model_dir

    model = PresetStylizer.load(pretrained_model_dir("preset", args.cache))
    wanted = {int(i) for i in args.presets.split(",") if i} or {p["id"] for p in model.presets}
    ok, defaults = True, {}
    for preset in [p for p in model.presets if p["id"] in wanted]:
        for photo_name in args.preset_photos.split(","):
            photo = picture(photo_name)
            outs, seconds = {}, {}
            for strength in args.strengths:
                outs[strength], seconds[strength] = timed(
                    model.stylize, photo, preset["id"], strength, args.size
                )
            label = f"preset {preset['id']} {preset['name']} on {photo_name}"
            ok &= judged_row(label, photo, outs[1.0], outs, seconds, Path(args.out))
        label = f"preset {preset['id']} {preset['name']}"
        defaults[preset["id"]] = default_strength(
            args, label, lambda p, s, i=preset["id"]: model.stylize(p, i, s, args.size)
        )
    print(f"PRESET_DEFAULT_STRENGTH = {defaults}")
    return ok


def default_strength(args, label: str, run, grid=DEFAULT_GRID) -> float:
    """The highest of DEFAULT_GRID up to which every ``run(photo, strength)`` keeps the subject
    (ml.style.judge's subject check) on every photo of --default-photos; printed with the check at it
    (the lowest, and LOST, when none keeps it)."""
    from ml.style import judge

    photos = [picture(name) for name in args.default_photos.split(",")]
    chosen, kept = min(grid), None
    for strength in sorted(grid):  # upwards, to the first strength that loses it
        checks = [judge.subject_check(run(photo, strength), photo) for photo in photos]
        if not all(c["kept"] for c in checks):
            break
        chosen, kept = strength, checks
    kept = kept or checks
    print(f"| {label} | default {chosen:g} | subject at it: {subject_line(kept)} |", flush=True)
    DEFAULTS[label] = f"{chosen:g}: {subject_line(kept)}"
    return chosen


def subject_line(checks) -> str:
    """'kept (content 0.31, face IoU 0.86)' for each photo's subject check."""
    return "; ".join(
        f"{'kept' if c['kept'] else 'LOST'} (content {c['content']:.3f}, face IoU "
        f"{'-' if c['face_iou'] is None else format(c['face_iou'], '.2f')})"
        for c in checks
    )


def print_summary() -> None:
    """One line per row: style and content distance at each strength, graded, the default
    strength of its method or preset and the subject check there (on --default-photos)."""
    print("| method, photo | judge: style at each strength | judge: content | graded | "
          "default strength: subject check there |")  # fmt: skip
    print("|---|---|---|---|---|")
    for label, styles, contents, graded in SUMMARY:
        key = next((k for k in DEFAULTS if label.startswith(k)), None)
        one_row = label.startswith("preset") and not label.endswith(" on astronaut")
        shown = "" if key is None or one_row else DEFAULTS[key]
        print(
            f"| {label} | {' '.join(f'{v:.3f}' for v in styles)} | "
            f"{' '.join(f'{v:.3f}' for v in contents)} | {'yes' if graded else 'NO'} | {shown} |"
        )


def summary_from(logs: str) -> None:
    """Fill SUMMARY and DEFAULTS from saved runs' lines (LOG[,LOG..]: what the runs printed; a
    later log's defaults win, rows of a single strength are left out), and print."""
    rows: dict[str, list] = {}
    lines = [line for log in logs.split(",") for line in Path(log).read_text().splitlines()]
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].startswith("default "):
            DEFAULTS[cells[0]] = (
                f"{cells[1].split()[1]}: {cells[2].removeprefix('subject at it: ')}"
            )
        elif len(cells) == 7 and cells[1] == "graded":
            styles, contents = zip(*rows.pop(cells[0]))
            if len(styles) > 1:
                SUMMARY.append((cells[0], styles, contents, cells[2] == "yes"))
        elif len(cells) == 7 and cells[1].replace(".", "").isdigit():
            rows.setdefault(cells[0], []).append((float(cells[2]), float(cells[3])))
    print_summary()


def main(argv=None) -> int:
    """Print the tables; exit status 1 when a row is not graded both ways."""
    from ml.style import nst
    from ml.style.fast_style import ArbitraryStylizer, pretrained_model_dir
    from ml.stylize import load_model

    args = parse_args(argv)
    if args.summary_from:
        summary_from(args.summary_from)
        return 0
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print(f"size {args.size} px; load average {os.getloadavg()[0]:.1f} at start")
    print("| method, pair | strength | judge: style | judge: content | face IoU | subject | s |")
    print("|---|---|---|---|---|---|---|")
    methods, ok = args.methods.split(","), True
    if "arbitrary" in methods:
        arbitrary = ArbitraryStylizer.load(pretrained_model_dir("arbitrary", args.cache))
        ok &= calibrate_pairs(
            args,
            "arbitrary",
            args.pairs,
            lambda p, s, k: arbitrary.stylize(p, s, k, args.size),
        )
        for pair in args.pairs.split(","):  # each style picture on the photos a default must keep
            style = picture(pair.split(":")[1])
            print(
                "ARBITRARY_DEFAULT_STRENGTH with " + pair.split(":")[1] + " =",
                default_strength(
                    args,
                    f"arbitrary {pair}",
                    lambda p, k, st=style: arbitrary.stylize(p, st, k, args.size),
                ),
            )
    if "nst" in methods:
        runs = {}  # the pictures of the rows are not made again for the default below

        def nst_run(photo, style, strength):
            key = (hashlib.md5(photo.tobytes() + style.tobytes()).hexdigest(), strength)
            if key not in runs:
                runs[key] = nst.stylize(photo, style, strength=strength, size=args.size)[0]
            return runs[key]

        ok &= calibrate_pairs(args, "nst", args.nst_pairs, nst_run)
        # the default by arbitrary's rule, on the same styles; the grid starts at 0.5 (a minute
        # a picture at 256 px on a CPU; below 0.5 it is close to the photo)
        chosen = []
        for pair in args.pairs.split(","):
            style = picture(pair.split(":")[1])
            run = lambda p, k, st=style: nst_run(p, st, k)  # noqa: E731
            chosen.append(default_strength(args, f"nst {pair}", run, NST_GRID))
        print(f"NST.strength = {min(chosen)}")
    for spec in args.model:
        name, folder = spec.split("=", 1)
        model = load_model(folder)
        if hasattr(model, "style_stats"):  # AdaIN: a style picture
            ok &= calibrate_pairs(
                args, name, args.pairs, lambda p, s, k, m=model: m.stylize(p, s, k, args.size)
            )
        else:  # a fixed style: its own full-strength picture is the style
            for photo_name in args.preset_photos.split(","):
                photo = picture(photo_name)
                outs = {k: model.stylize(photo, k, args.size) for k in args.strengths}
                ok &= judged_row(
                    f"{name} on {photo_name}",
                    photo,
                    model.stylize(photo, 1.0, args.size),
                    outs,
                    dict.fromkeys(args.strengths, 0.0),
                    Path(args.out),
                )
    if "preset" in methods:
        ok &= calibrate_presets(args)
    print_summary()
    print(f"graded at every step on every row: {'yes' if ok else 'NO'}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
