"""Evidence for a face model folder on evaluation sets that ship with the product.

    python -m ml.faces.evidence MODEL_DIR OUT_DIR [--age-data DIR]

``evaluate(model_dir_or_classifier, out_dir)`` answers the metrics the registry stores for a
retrained version (``ml.classify.evaluate.metrics_from_predictions`` under ``"holdout"``, its
summary keys at the top) and writes the admin page's plots into ``out_dir/holdout/``:
``roc.png``, ``confusion_matrix.png``, ``reliability.png`` and ``evaluation.json``.

The bundled sets (no download; CPU, a few seconds):

- **faces**: scikit-image's LFW subset (``skimage.data.lfw_subset``: 100 grey 25x25 face crops of
  public figures from Labeled Faces in the Wild, shipped inside scikit-image, BSD-3 code; LFW's
  images are for research, credited to the LFW authors) upscaled 4x, labelled by eye for gender
  (86: 14 female, 72 male) and smiling (78: 27 smiling, 51 not) in
  ``bench/data/lfw_face_labels.csv``, plus scikit-image's astronaut (Eileen Collins, NASA,
  public domain: female, smiling). Used for tasks whose labels are ``female/male`` or
  ``not_smiling/smiling``.
- **no faces**: LFW's 100 non-face crops and scikit-image's coffee, chelsea (a cat), rocket,
  hubble_deep_field, immunohistochemistry and coins: how often the model claims a face there.
- **ages**: nothing with real ages can ship (UTKFace is non-commercial research only). For the
  age task the answer carries the held-out figures measured at development
  (``model.AGE_EVIDENCE``), and, with ``age_data`` (a folder of UTKFace-named files such as
  ``../shared/data/utkface-dev``), a fresh measurement on it.

The ml half of a model page's evidence; `webapp/classification/evidence.py` runs it as a job and shows it.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skdata
from skimage.util import img_as_ubyte

from ml.classify.evaluate import _pyplot, metrics_from_predictions, plot_confusion, plot_roc
from ml.common.images import read_image
from ml.faces import model as fm

REPO = Path(__file__).resolve().parents[2]
LFW_LABELS = REPO / "bench" / "data" / "lfw_face_labels.csv"
LFW_UPSCALE = 4
NO_FACE_SAMPLES = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
SUMMARY_KEYS = ("n", "accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc")
SETS = {
    "gender": {"labels": ["female", "male"], "column": "gender", "astronaut": "female"},
    "smiling": {"labels": ["not_smiling", "smiling"], "column": "smiling", "astronaut": "smiling"},
}
BANDS = ((0, 18), (18, 30), (30, 45), (45, 60), (60, 200))


def lfw_crops() -> list[np.ndarray]:
    """scikit-image's 200 LFW crops (100 faces, then 100 non-faces) as RGB uint8, upscaled 4x."""
    out = []
    for grey in (skdata.lfw_subset() * 255).astype(np.uint8):
        side = 25 * LFW_UPSCALE
        big = cv2.resize(grey, (side, side), interpolation=cv2.INTER_CUBIC)
        out.append(np.repeat(big[..., None], 3, axis=2))
    return out


def labelled_faces(set_name: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The bundled faces labelled for ``set_name`` ("gender" or "smiling") and their label indices."""
    spec = SETS[set_name]
    crops = lfw_crops()
    images, y = [], []
    for row in csv.DictReader(LFW_LABELS.open()):
        if row[spec["column"]] in spec["labels"]:
            images.append(crops[int(row["index"])])
            y.append(spec["labels"].index(row[spec["column"]]))
    images.append(skdata.astronaut())
    y.append(spec["labels"].index(spec["astronaut"]))
    return images, np.asarray(y)


def no_face_pictures() -> list[np.ndarray]:
    """Pictures without a face: LFW's 100 non-face crops and a few scikit-image samples."""
    out = lfw_crops()[100:]
    for name in NO_FACE_SAMPLES:
        img = img_as_ubyte(getattr(skdata, name)())
        out.append(np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3])
    return out


def reliability_table(y_true, probs, edges=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)) -> list[dict]:
    """Per band of shown confidence: how many answers, and how many of them were right."""
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == y_true
    rows = []
    for lo, hi in zip((0.0, *edges[:-1]), edges):
        inside = (confidence > lo) & (confidence <= hi) if lo else confidence <= hi
        if inside.any():
            rows.append(
                {
                    "from": lo,
                    "to": hi,
                    "n": int(inside.sum()),
                    "mean_confidence": round(float(confidence[inside].mean()), 4),
                    "accuracy": round(float(right[inside].mean()), 4),
                }
            )
    return rows


def plot_reliability(table: list[dict], path) -> Path:
    """Shown confidence against how often those answers were right, one point per band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    x = [r["mean_confidence"] for r in table]
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="honest")
    ax.plot(x, [r["accuracy"] for r in table], "o-", label="this model")
    for r in table:
        ax.annotate(str(r["n"]), (r["mean_confidence"], r["accuracy"]), fontsize=7)
    ax.set(xlabel="shown confidence", ylabel="share right", title="reliability", xlim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _classifier(model):
    return model if isinstance(model, fm.FaceClassifier) else fm.FaceClassifier.load(model)


def _set_for(labels: list[str]) -> str | None:
    return next((name for name, spec in SETS.items() if spec["labels"] == labels), None)


def evaluate(model_dir_or_classifier, out_dir, age_data=None) -> dict:
    """Metrics of a face model on the bundled sets (the registry's shape), plots in ``out_dir/holdout``."""
    clf = _classifier(model_dir_or_classifier)
    out = Path(out_dir) / "holdout"
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict = {"no_face": no_face_check(clf)}
    name = _set_for(clf.labels)
    if name is not None:
        images, y = labelled_faces(name)
        answers = clf.predict_batch(images)
        probs = np.array([[a.probabilities[k] for k in clf.labels] for a in answers])
        holdout = _report(y, probs, clf.labels, out)
        holdout["faces_found"] = int(sum(bool(a.face_found) for a in answers))
        metrics.update({k: holdout.get(k) for k in SUMMARY_KEYS}, holdout=holdout)
        metrics["evaluation_set"] = {
            "name": f"LFW subset ({name} labelled by eye) + scikit-image astronaut",
            "n": int(len(y)),
            "licence": "scikit-image BSD-3; LFW images for research (LFW authors); astronaut: NASA, public domain",
        }
    if clf.labels == fm.AGE_BRACKETS:
        metrics["age"] = {"development": fm.AGE_EVIDENCE}
        if age_data is not None:
            metrics["age"]["measured"] = age_error(clf, age_data, out)
            metrics.update({k: metrics["age"]["measured"]["brackets"].get(k) for k in SUMMARY_KEYS})
            metrics["holdout"] = metrics["age"]["measured"]["brackets"]
    metrics["calibration"] = clf.meta.get("calibration")
    (out / "evaluation.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _report(y, probs, labels, out: Path) -> dict:
    holdout = metrics_from_predictions(y, probs, labels)
    holdout["reliability"] = reliability_table(y, probs)
    confident = probs.max(axis=1) >= 0.95
    holdout["confident_95"] = {
        "n": int(confident.sum()),
        "accuracy": round(float((probs.argmax(axis=1) == y)[confident].mean()), 4)
        if confident.any()
        else None,
    }
    plot_roc(y, probs, labels, out / "roc.png")
    plot_confusion(holdout["confusion_matrix"], labels, out / "confusion_matrix.png")
    plot_reliability(holdout["reliability"], out / "reliability.png")
    return holdout


def no_face_check(clf) -> dict:
    """How many of the bundled pictures without a face the model says hold one."""
    pictures = no_face_pictures()
    claimed = sum(bool(a.face_found) for a in clf.predict_batch(pictures))
    return {"pictures": len(pictures), "answered_as_face": int(claimed)}


def read_ages(folder) -> tuple[list[Path], np.ndarray]:
    """UTKFace-named files (``AGE_GENDER_RACE_...``) in ``folder`` and their ages."""
    paths = sorted(p for p in Path(folder).iterdir() if p.name[:1].isdigit())
    return paths, np.array([int(p.name.split("_")[0]) for p in paths])


def age_error(clf, folder, out: Path | None = None) -> dict:
    """Mean absolute error (13+), mean signed error per age band and bracket metrics on real ages."""
    paths, ages = read_ages(folder)
    years, probs = [], []
    for start in range(0, len(paths), 32):
        for a in clf.predict_batch([read_image(p) for p in paths[start : start + 32]]):
            years.append(a.age_years)
            probs.append([a.probabilities[k] for k in clf.labels])
    years, probs = np.asarray(years, float), np.asarray(probs)
    return summarise_ages(ages, years, probs, clf.labels, out)


def summarise_ages(ages, years, probs, labels, out: Path | None = None) -> dict:
    """The age figures of ``years`` (estimates) and bracket ``probs`` against true ``ages``."""
    truth = np.digitize(ages, [lo for lo, _ in BANDS[1:]])
    bands = {}
    for k, (lo, hi) in enumerate(BANDS):
        inside = (ages >= lo) & (ages < hi)
        err = years[inside] - ages[inside]
        bands[labels[k]] = {
            "n": int(inside.sum()),
            "mean_signed_error": round(float(err.mean()), 2),
            "mean_absolute_error": round(float(np.abs(err).mean()), 2),
        }
    brackets = (
        _report(truth, probs, labels, out)
        if out
        else metrics_from_predictions(truth, probs, labels)
    )
    return {
        "n": int(len(ages)),
        "mae_13_plus": round(float(np.abs(years - ages)[ages >= 13].mean()), 2),
        "by_band": bands,
        "children_recall": round(float(np.mean(probs[truth == 0].argmax(axis=1) == 0)), 4),
        "brackets": brackets,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.faces.evidence", description=__doc__)
    parser.add_argument("model_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--age-data", help="a folder of UTKFace-named faces (age task)")
    args = parser.parse_args(argv)
    metrics = evaluate(args.model_dir, args.out_dir, args.age_data)
    print(json.dumps({k: v for k, v in metrics.items() if k != "holdout"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
