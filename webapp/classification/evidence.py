"""The evidence on a model's page: how a shipped v1 scores on a bundled evaluation set, and how
often users' labels have agreed with each version since it was deployed.

A shipped face task's v1 is a pretrained network nobody here trained, so it has no holdout
metrics of its own. When it is registered, a job (kind `evidence`, on the train queue: never in
a web request, never before the first classify) runs `ml.faces.evidence.evaluate` on it and
stores the metrics in the version's `metrics` (as a retrain stores its holdout's) and the plots
in storage under `evidence/<target>/<version>/`, which the model page shows beside the rest.

The web half of the evidence; `ml/faces/evidence.py` computes it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from flask import current_app

from webapp.extensions import db
from webapp.jobs import runner
from webapp.jobs.runner import JobContext
from webapp.registry import versions as registry
from webapp.storage.store import storage
from webapp.tables import Classification, Feedback, Job, ModelVersion

KIND = "evidence"
SUMMARY_KEYS = ("n", "accuracy", "f1_macro", "roc_auc")  # what the job's result repeats
FILE_SUFFIXES = (".png", ".json")


def schedule(mv: ModelVersion) -> Job | None:
    """Queue the evidence job of a pretrained version unless it has its evidence or one is queued."""
    if "files" in (mv.metrics or {}) or _queued(mv):
        return None
    job = runner.create_job(
        KIND, target=mv.target, params={"version": mv.version}, created_by="system"
    )
    db.session.commit()
    runner.enqueue(job)
    return job


def _queued(mv: ModelVersion) -> bool:
    jobs = db.session.scalars(
        db.select(Job).where(
            Job.kind == KIND, Job.target == mv.target, Job.status.in_(("queued", "running"))
        )
    )
    return any((job.params or {}).get("version") == mv.version for job in jobs)


def run_evidence(job: Job, ctx: JobContext) -> dict:
    """The job handler of kind `evidence`: evaluate a version, store its metrics and plots."""
    from ml.faces import evidence as ml_evidence

    mv = registry.find(job.target, job.params["version"])
    ctx.progress(0.05, f"evaluating {mv.target} {mv.version} on its bundled evaluation set")
    with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
        metrics = ml_evidence.evaluate(registry.local_dir(mv), Path(tmp))
        ctx.progress(0.9, "storing the metrics and plots")
        files = _store_files(mv, Path(tmp))
    store(mv, metrics, files)
    summary = {k: metrics.get(k) for k in SUMMARY_KEYS if metrics.get(k) is not None}
    return {"model_version": mv.version, "files": files, **summary}


def _prefix(mv: ModelVersion) -> str:
    return f"evidence/{mv.target}/{mv.version}/"


def _store_files(mv: ModelVersion, folder: Path) -> list[str]:
    """Put every plot and table the evaluation wrote into storage; their names, relative."""
    names = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in FILE_SUFFIXES:
            name = path.relative_to(folder).as_posix()
            storage().put(_prefix(mv) + name, path.read_bytes(), content_type=_type(name))
            names.append(name)
    return names


def _type(name: str) -> str:
    return "application/json" if name.endswith(".json") else "image/png"


def store(mv: ModelVersion, metrics: dict, files: list[str]) -> None:
    """Record the evaluation as the version's metrics (committed): the registry's shape, as a
    retrain stores its holdout's (summary keys at the top, `holdout`, `calibration`), plus which
    evaluation set (`evaluation_set`), the age figures (`age`) and the stored `files`."""
    plain = json.loads(json.dumps(metrics, default=_plain))  # numpy numbers -> JSON
    mv.metrics = {**(mv.metrics or {}), **plain, "files": files}
    db.session.commit()
    current_app.logger.info("stored the evidence of %s %s", mv.target, mv.version)


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)


def file_path(mv: ModelVersion, name: str) -> Path | None:
    """A stored evidence file of `mv` as a local file (cached), or None when it has no such file."""
    if name not in ((mv.metrics or {}).get("files") or []):
        return None
    local = Path(current_app.config["MODEL_CACHE_DIR"]) / "evidence" / mv.sha256[:16] / name
    if not local.is_file():
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(storage().get(_prefix(mv) + name))
    return local


def live_agreement(mv: ModelVersion) -> dict:
    """How often users' labels agreed with what `mv` answered: share and count (labels, not
    "no face" answers; changed minds count once, as their latest answer)."""
    rows = db.session.scalars(
        db.select(Feedback.agrees)
        .join(Classification, Classification.id == Feedback.classification_id)
        .where(
            Classification.model_version_id == mv.id,
            Feedback.agrees.is_not(None),
            Feedback.label.is_not(None),
            Feedback.review != "rejected",
        )
    ).all()
    n = len(rows)
    return {"n": n, "agree": sum(rows), "share": round(sum(rows) / n, 4) if n else None}
