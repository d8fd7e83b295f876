"""A new user's first model: CelebA-layout folder -> `data import-celeba` -> `retrain` -> classify over HTTP.

    .venv/bin/python bench/import_retrain.py [--configs default custom_cnn ...] [--runs 3] [--first-seed 0] [--json]

Builds a CelebA-layout folder from scikit-image's LFW subset (100 faces as Male=1, 100 non-faces
as Male=-1; 25x25 grey upscaled bicubic to 178x218 RGB JPEG; all 40 attributes; a shuffled
140/30/30 partition), removes the test partition, imports the rest through the CLI into a fresh
instance, retrains `gender` through a real train worker (`TRAIN_CONFIG` picks the config), then
posts the 30 unseen photos to /api/classify on gunicorn. Also runs `ml.evaluate` on the served
model folder over the same 30 photos: the two must agree. Prints one line per run and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import build_app, make_config  # noqa: E402
from tests.ml.conftest import write_lfw_celeba  # noqa: E402
from tests.reliability import Gunicorn, served_env  # noqa: E402
from tests.services import Worker  # noqa: E402

FLASK = [str(REPO / ".venv" / "bin" / "python"), "-m", "flask", "--app", "wsgi"]


def flask(env: dict, *args: str, timeout: float = 900) -> str:
    """Run a `flask --app wsgi` command as a user would; its output (raises with it on failure)."""
    done = subprocess.run(
        [*FLASK, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise SystemExit(
            f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return done.stdout


def job_result(app) -> dict:
    """The latest retrain job's result and its model folder (deployed or not)."""
    from webapp.extensions import db
    from webapp.registry import versions as registry
    from webapp.tables import Job, ModelVersion

    with app.app_context():
        job = db.session.scalars(
            db.select(Job).where(Job.kind == "retrain").order_by(Job.created.desc())
        ).first()
        version = (job.result or {}).get("model_version")
        mv = db.session.scalar(
            db.select(ModelVersion).where(
                ModelVersion.target == "gender", ModelVersion.version == version
            )
        )
        result = {"job": job.result, "model_dir": str(registry.local_dir(mv)) if mv else None}
        db.session.remove()
    return result


def classify_over_http(url: str, photos: list[tuple[bytes, str]]) -> tuple[int, list[str]]:
    """Post every photo to /api/classify; (number right, answers)."""
    import requests

    answers = []
    for jpeg, _ in photos:
        r = requests.post(
            f"{url}/api/classify",
            files={"image": ("x.jpg", jpeg, "image/jpeg")},
            data={"task": "gender"},
            timeout=120,
        )
        r.raise_for_status()
        answers.append(r.json()["label"])
    return sum(a == truth for a, (_, truth) in zip(answers, photos)), answers


def evaluate_offline(model_dir: str, photos: list[tuple[bytes, str]], root: Path) -> dict:
    """`ml.evaluate` on the same photos, written as a folder per label."""
    from ml import evaluate
    from ml.classify import data

    for i, (jpeg, truth) in enumerate(photos):
        (root / truth).mkdir(parents=True, exist_ok=True)
        (root / truth / f"{i:03d}.jpg").write_bytes(jpeg)
    return evaluate.evaluate(model_dir, data.read_folder(root, ["female", "male"], 0.0, 0.0))


def trained_epochs(model_dir: str | None):
    """How many epochs the served model trained (its meta.json), or None."""
    meta = Path(model_dir or "/nonexistent") / "meta.json"
    return json.loads(meta.read_text()).get("epochs") if meta.is_file() else None


def run_once(config_path: Path, seed: int, root: Path, timeout: float = 3600) -> dict:
    """One full scenario in a fresh instance under `root`."""
    photos = write_lfw_celeba(root / "celeba", seed)
    config = make_config(root)
    app = build_app(config)
    # the stale-job window `make run` has: the reliability tests' 3 s lets a loaded machine's late
    # heartbeat requeue a live retrain, which then loses its checkpoint folder
    env = served_env(config, TRAIN_CONFIG=config_path, JOB_STALE_SECONDS=60)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    imported = (
        flask(env, "data", "import-celeba", str(root / "celeba"), "--task", "gender")
        .strip()
        .splitlines()[-1]
    )
    worker = Worker(env, "train", root / "worker.log").start()
    try:
        flask(env, "retrain", "gender", "--wait", timeout=timeout)
    finally:
        worker.stop()
    trained = time.perf_counter() - started
    result = job_result(app)
    with Gunicorn(served_env(config), root / "gunicorn.log", workers=1) as server:
        right, answers = classify_over_http(server.url, photos)
    offline = (
        evaluate_offline(result["model_dir"], photos, root / "test")
        if result["model_dir"]
        else None
    )
    load = f"{load_before:.1f}-{os.getloadavg()[0]:.1f}"  # 1-minute load average before and after the retrain
    return {
        "config": config_path.stem,
        "seed": seed,
        "import": imported,
        "seconds_to_model": round(trained, 1),
        "load": load,
        "epochs": trained_epochs(result["model_dir"]),
        "served_right": right,
        "n": len(photos),
        "served_male": answers.count("male"),
        "evaluate_accuracy": offline and offline["accuracy"],
        "evaluate_roc_auc": offline and offline["roc_auc"],
        "job": result["job"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["default", "celeba_gender_cnn", "celeba_smiling_cnn", "custom_cnn"],
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per config (seeds 0..N-1 of the partition)"
    )
    parser.add_argument("--first-seed", type=int, default=0, help="partition seed of the first run")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one retrain may take")
    parser.add_argument("--json", action="store_true", help="print each run's full job result too")
    args = parser.parse_args()
    rows = []
    for name in [n for given in args.configs for n in given.split(",") if n]:  # spaces or commas
        path = Path(name) if name.endswith(".yaml") else REPO / "ml" / "configs" / f"{name}.yaml"
        for seed in range(args.first_seed, args.first_seed + args.runs):
            with tempfile.TemporaryDirectory(prefix="import-retrain-") as tmp:
                row = run_once(path, seed, Path(tmp), args.timeout)
            job = row["job"] or {}
            print(
                f"{row['config']} seed {seed}: served {row['served_right']}/{row['n']} right "
                f"({row['served_male']} answered male), ml.evaluate accuracy {row['evaluate_accuracy']}, "
                f"holdout {job.get('metrics')}, promoted {job.get('promoted')}: {job.get('reason')} "
                f"[{row['epochs']} epochs, {row['seconds_to_model']} s import+retrain, load {row['load']}]",
                flush=True,
            )
            if args.json:
                print(json.dumps(job, indent=2, default=str), flush=True)
            rows.append(row)
    print(
        "\n| config | run | served right of 30 | ml.evaluate accuracy | holdout n | holdout accuracy | "
        "holdout ROC-AUC | promoted | epochs | s to model | load |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for r in rows:
        m = (r["job"] or {}).get("metrics") or {}
        print(
            f"| {r['config']} | {r['seed']} | {r['served_right']} | {r['evaluate_accuracy']:.3f} | {m.get('n')} | "
            f"{m.get('accuracy', 0):.3f} | {m.get('roc_auc') or 0:.3f} | {(r['job'] or {}).get('promoted')} | "
            f"{r['epochs']} | {r['seconds_to_model']} | {r['load']} |"
        )


if __name__ == "__main__":
    main()
