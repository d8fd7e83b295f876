"""The feedback loop's learning curve, simulated on scikit-image's LFW subset (face / non-face).

    python bench/loop.py [--seeds 5] [--sizes 20 40 80 160] [--configs default small_cnn vgg16_transfer]
                         [--out docs/learning_curve.png] [--json OUT.json] [--start-seed 0] [--merge EARLIER.json ...]

A fixed held-out set (40 images, 20 per label) judges every model; each point trains a config
through ``ml.train.train`` exactly as the web retrain does (folder per label, no test split,
face crop on), on ``n`` labels drawn per seed from the other 160 images (stratified).

Then the review queue's ordering: a model trained on 20 clean labels is deployed; users label 80
more photos, 20% of them wrongly; an admin verifies k of those 80 (a wrong label is corrected),
chosen by the queue's ``informative`` order (the deployed model's doubt about the user's label)
or at random; the default config is retrained and judged on the same held-out set.
Prints Markdown tables and writes a PNG plot and a JSON file of every number. ``--merge`` adds the
rows of earlier runs (a later row with the same config, size and seed wins), so the slow configs'
seeds can run separately: ``--configs`` with no names only merges and plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from anywhere: `python bench/...`

import argparse
import json
import shutil
import tempfile
import time

import numpy as np

from bench.make_lfw_dataset import write_lfw

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "default": ({}, "features head on frozen VGG16 (new default)"),
    "small_cnn": ({}, "small CNN from scratch, 8 epochs (former default)"),
    "vgg16_transfer": (
        {
            "preprocessing.image_size": [64, 64],
            "epochs": 6,
            "frozen_epochs": 3,
            "early_stopping": None,
        },
        "VGG16 fine-tune, 64 px, 3 frozen + 3 fine-tune epochs",
    ),
}
LABELS = ["face", "non_face"]
HELD_OUT_PER_LABEL = 20


def split_pool(root: Path) -> tuple[list[Path], list[Path]]:
    """Fixed held-out files (the first 20 of each label by a fixed shuffle) and the labelling pool."""
    rng = np.random.default_rng(1234)
    held, pool = [], []
    for label in LABELS:
        files = sorted((root / label).glob("*.png"))
        order = rng.permutation(len(files))
        held += [files[i] for i in order[:HELD_OUT_PER_LABEL]]
        pool += [files[i] for i in order[HELD_OUT_PER_LABEL:]]
    return held, pool


def write_set(files_labels, folder: Path) -> Path:
    """Copy (file, label) pairs into folder/<label>/."""
    shutil.rmtree(folder, ignore_errors=True)
    for src, label in files_labels:
        (folder / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, folder / label / src.name)
    return folder


def draw(pool: list[Path], n: int, seed: int) -> list[Path]:
    """n files from the pool, half per label, by seed."""
    rng = np.random.default_rng(seed)
    out = []
    for label in LABELS:
        group = [f for f in pool if f.parent.name == label]
        out += [group[i] for i in rng.permutation(len(group))[: n // 2]]
    return out


def train_and_judge(
    config: str, train_dir: Path, held_dir: Path, work: Path, seed: int, cache: Path
) -> dict:
    """Train like the web retrain does, judge on the held-out folder; accuracy and seconds."""
    from ml import evaluate, train
    from ml.classify import data

    overrides = {
        "data.labels": LABELS,
        "data.test_fraction": 0.0,
        "preprocessing.face_crop": True,
        **CONFIGS[config][0],
    }
    out = work / "model"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    train.train(
        REPO / "ml" / "configs" / f"{config}.yaml",
        train_dir,
        out,
        seed=seed,
        feature_cache=cache,
        **overrides,
    )
    seconds = time.monotonic() - started
    samples = data.read_folder(held_dir, LABELS, 0.0, 0.0)
    return {"accuracy": evaluate.evaluate(out, samples)["accuracy"], "seconds": round(seconds, 1)}


def curve(configs, sizes, seeds, pool, held_dir: Path, work: Path, cache: Path) -> list[dict]:
    """One row per (config, size, seed)."""
    rows = []
    for config in configs:
        for n in sizes:
            for seed in seeds:
                train_dir = write_set(
                    [(f, f.parent.name) for f in draw(pool, n, seed)], work / "train"
                )
                result = train_and_judge(config, train_dir, held_dir, work, seed, cache)
                rows.append({"config": config, "labels": n, "seed": seed, **result})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def doubt(model_dir: Path, files, user_labels) -> np.ndarray:
    """The deployed model's doubt about each user label: 1 - p(user's label), as the review queue ranks."""
    from ml.classify import data
    from ml.classify.inference import Classifier

    clf = Classifier.load(model_dir)
    preds = clf.predict_batch([data.load_image(f) for f in files])
    return np.array([1.0 - p.probabilities[label] for p, label in zip(preds, user_labels)])


def verification(
    seeds, pool, held_dir: Path, work: Path, cache: Path, k: int, noise: float = 0.2
) -> list[dict]:
    """Accuracy after verifying k of 80 noisy user labels, by the queue's order vs at random vs none."""
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed + 100)
        chosen = draw(pool, 100, seed)
        first = [
            chosen[i] for i in range(len(chosen)) if i % 5 == 0
        ]  # 20 clean labels, both classes
        later = [f for f in chosen if f not in first]
        flipped = rng.random(len(later)) < noise
        user = [
            LABELS[1 - LABELS.index(f.parent.name)] if bad else f.parent.name
            for f, bad in zip(later, flipped)
        ]
        deployed_dir = write_set([(f, f.parent.name) for f in first], work / "first")
        train_and_judge("default", deployed_dir, held_dir, work, seed, cache)
        scores = doubt(work / "model", later, user)
        orders = {
            "informative": np.argsort(-scores, kind="stable"),
            "random": rng.permutation(len(later)),
            "none": np.array([], dtype=int),
        }
        for name, order in orders.items():
            verified = set(order[:k].tolist())
            labels = [
                f.parent.name if i in verified else u for i, (f, u) in enumerate(zip(later, user))
            ]
            train_dir = write_set(
                [(f, f.parent.name) for f in first] + list(zip(later, labels)), work / "train"
            )
            result = train_and_judge("default", train_dir, held_dir, work, seed, cache)
            fixed = int(sum(flipped[i] for i in verified))
            rows.append(
                {
                    "order": name,
                    "k": 0 if name == "none" else k,
                    "seed": seed,
                    "wrong_labels": int(flipped.sum()),
                    "wrong_found": fixed,
                    **result,
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def summarise(rows, keys) -> list[dict]:
    """Mean, min, max and std of accuracy and mean seconds per group of ``keys``."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    out = []
    for key, group in groups.items():
        acc = np.array([r["accuracy"] for r in group])
        out.append(
            {
                **dict(zip(keys, key)),
                "seeds": len(group),
                "mean": float(acc.mean()),
                "std": float(acc.std()),
                "min": float(acc.min()),
                "max": float(acc.max()),
                "seconds": float(np.mean([r["seconds"] for r in group])),
                **(
                    {"wrong_found": float(np.mean([r["wrong_found"] for r in group]))}
                    if "wrong_found" in group[0]
                    else {}
                ),
            }
        )
    return out


def plot(summary, path: Path) -> None:
    """Accuracy against labels, one line per config, min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=100)
    for config in dict.fromkeys(r["config"] for r in summary):
        pts = sorted((r for r in summary if r["config"] == config), key=lambda r: r["labels"])
        x = [r["labels"] for r in pts]
        ax.plot(
            x,
            [r["mean"] for r in pts],
            marker="o",
            label=f"{config}: {CONFIGS[config][1]} ({min(r['seeds'] for r in pts)} seeds)",
        )
        ax.fill_between(x, [r["min"] for r in pts], [r["max"] for r in pts], alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_xticks(
        [r["labels"] for r in summary if r["config"] == summary[0]["config"]],
        [str(r["labels"]) for r in summary if r["config"] == summary[0]["config"]],
    )
    ax.axhline(0.95, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("labels the model was trained on")
    ax.set_ylabel("accuracy, 40 held-out photos")
    ax.set_title("LFW subset face / non-face: mean and min-max over seeds", fontsize=10)
    ax.set_ylim(0.4, 1.02)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    fig.savefig(path, bbox_inches="tight")


def tables(curve_summary, verify_summary) -> str:
    """Markdown tables for the README."""
    lines = [
        "| config | labels | accuracy mean | min-max | std | retrain s |",
        "|---|---|---|---|---|---|",
    ]
    for r in curve_summary:
        lines.append(
            f"| `{r['config']}` | {r['labels']} | {r['mean']:.3f} | {r['min']:.3f}-{r['max']:.3f} | "
            f"{r['std']:.3f} | {r['seconds']:.0f} |"
        )
    if verify_summary:
        lines += [
            "",
            "| verified labels chosen | k | wrong labels among them | accuracy mean | min-max |",
            "|---|---|---|---|---|",
        ]
        for r in verify_summary:
            lines.append(
                f"| {r['order']} | {r['k']} | {r['wrong_found']:.1f} | {r['mean']:.3f} | "
                f"{r['min']:.3f}-{r['max']:.3f} |"
            )
    return "\n".join(lines)


def merged(files, key: str, rows: list[dict], ident: list[str]) -> list[dict]:
    """Rows of earlier runs' JSON files then this run's, one per identity (the latest wins), in a stable order."""
    out = {}
    for row in [r for f in files for r in json.loads(Path(f).read_text())[key]] + rows:
        out[tuple(row[k] for k in ident)] = row
    order = {name: i for i, name in enumerate(CONFIGS)}
    return sorted(
        out.values(),
        key=lambda r: tuple(order.get(r[k], r[k]) if k == "config" else r[k] for k in ident),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds start-seed .. seeds-1")
    parser.add_argument("--start-seed", type=int, default=0)
    parser.add_argument(
        "--merge", type=Path, nargs="*", default=[], help="JSON files of earlier runs to include"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 40, 80, 160])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--verify-k",
        type=int,
        default=16,
        help="labels verified in the ordering experiment (0: skip)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "learning_curve.png")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    seeds = list(range(args.start_seed, args.seeds))
    rows, vrows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_lfw(work / "lfw")
        held, pool = split_pool(work / "lfw")
        held_dir = write_set([(f, f.parent.name) for f in held], work / "held")
        cache = work / "features"
        if args.configs:
            rows = curve(args.configs, args.sizes, seeds, pool, held_dir, work, cache)
        if args.verify_k:
            vrows = verification(seeds, pool, held_dir, work, cache, args.verify_k)
    rows, vrows = (
        merged(args.merge, "rows", rows, ["config", "labels", "seed"]),
        merged(args.merge, "verification_rows", vrows, ["order", "k", "seed"]),
    )
    curve_summary, verify_summary = (
        summarise(rows, ["config", "labels"]),
        summarise(vrows, ["order", "k"]),
    )
    plot(curve_summary, args.out)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "curve": curve_summary,
                    "verification": verify_summary,
                    "rows": rows,
                    "verification_rows": vrows,
                },
                indent=1,
            )
        )
    print(tables(curve_summary, verify_summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
