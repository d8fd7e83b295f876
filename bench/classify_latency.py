"""Per-image classification latency (p50/p99) of every shipped classifier config on this machine.

    python bench/classify_latency.py [--runs 50] [--faces gender ...] [--configs default ...]

First the shipped face tasks' version 1 (the pretrained face networks, as served): "end to end"
is ``FaceClassifier.predict``: dlib HOG detection, five landmarks, one aligned chip per network,
the network; "model" the network alone on its chips. Then the trainable classifier configs.
For those this measures SPEED ONLY: each config's model is built with untrained weights (VGG16 keeps its offline
hed weights; other keras.applications backbones use weights=None, so nothing is downloaded),
saved as a model folder and loaded with ``ml.classify.inference.Classifier`` like the web app does.
"end to end" is ``Classifier.predict`` on a 178x218 RGB photo (CelebA size): face detection,
crop, resize and the model; "model" is the network alone on one prepared image.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from anywhere: `python bench/...`

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from ml.classify import classifier
from ml.classify.inference import Classifier
from ml.common import modeldir

CONFIGS = sorted(
    p.stem
    for p in classifier.CONFIG_DIR.glob("*.yaml")
    if p.stem not in ("adain", "cyclegan", "face")
)
FACE_TASKS = ("gender", "smiling", "age")


def build_folder(name: str, out: Path) -> Path:
    """Save an untrained model of config ``name`` as a loadable model folder."""
    config = classifier.load_config(classifier.CONFIG_DIR / f"{name}.yaml")
    if config["model"]["type"] == "transfer" and config["model"]["backbone"] != "vgg16":
        config["model"]["weights"] = None
    model = classifier.build_model(config, 2)
    model.save(out / "model.keras")
    modeldir.write_meta(
        out,
        {
            "kind": "classifier",
            "name": name,
            "labels": ["a", "b"],
            "preprocessing": config["preprocessing"],
            "config": config,
        },
    )
    return out


def percentiles(fn, runs: int) -> tuple[float, float]:
    """Return (p50, p99) in milliseconds of ``fn()`` after 5 warm-up calls."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 99) * 1000)


def bench(name: str, runs: int, photo: np.ndarray) -> dict:
    """Measure one config."""
    with tempfile.TemporaryDirectory() as tmp:
        clf = Classifier.load(build_folder(name, Path(tmp)))
        prepared = clf.prepare(photo)[0][None].astype(np.float32)
        e2e = percentiles(lambda: clf.predict(photo), runs)
        model = percentiles(lambda: clf._run(prepared), runs)
    size = "x".join(map(str, clf.preprocessing["image_size"]))
    return {
        "config": name,
        "input": size,
        "face_crop": clf.preprocessing["face_crop"],
        "e2e_p50": e2e[0],
        "e2e_p99": e2e[1],
        "model_p50": model[0],
        "model_p99": model[1],
    }


def bench_face(task: str, runs: int, photo: np.ndarray, cache: Path) -> dict:
    """Measure a shipped face task's version 1: face pipeline (detect, landmarks, chips) + network."""
    from ml.faces.model import FaceClassifier, pretrained_task_dir

    clf = FaceClassifier.load(pretrained_task_dir(task, cache))
    chips = {n: c[None] for n, c in clf.prepare(photo)[0].items()}
    e2e = percentiles(lambda: clf.predict(photo), runs)
    model = percentiles(lambda: clf.run(chips), runs)
    size = ", ".join(f"{s.size}px{' grey' if s.grey else ''}" for s in clf.specs.values())
    return {
        "config": f"face v1: {task}",
        "input": f"aligned chip {size}",
        "face_crop": "dlib HOG + 5 landmarks",
        "e2e_p50": e2e[0],
        "e2e_p99": e2e[1],
        "model_p50": model[0],
        "model_p99": model[1],
    }


def main() -> None:
    """Print a Markdown table of latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--configs", nargs="*", default=CONFIGS)
    parser.add_argument(
        "--faces", nargs="*", default=FACE_TASKS, help="shipped face tasks to measure"
    )
    args = parser.parse_args()
    from skimage.data import astronaut

    from ml.classify.data import resize_to

    photo = resize_to(astronaut(), (218, 178))
    print(
        "| config | input | face crop | end-to-end p50 ms | p99 ms | model only p50 ms | p99 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    cache = Path(tempfile.mkdtemp(prefix="face-bench-"))
    rows = [lambda t=t: bench_face(t, args.runs, photo, cache) for t in args.faces]
    rows += [lambda n=n: bench(n, args.runs, photo) for n in args.configs]
    for row in rows:
        r = row()
        print(
            f"| {r['config']} | {r['input']} | {r['face_crop']} | {r['e2e_p50']:.1f} | {r['e2e_p99']:.1f} "
            f"| {r['model_p50']:.1f} | {r['model_p99']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
