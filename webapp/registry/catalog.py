"""The registry as an admin browses and steers it: every target with what it serves, a target's
versions, the deploy log, a version's plots, and promote / rollback committed.

The rules themselves (what a version is, what promoting checks) live in `versions.py`; this
module answers the console's questions about them and commits an admin's decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ml import kinds as ml_kinds
from ml.common.modeldir import ModelDirError, read_meta
from webapp.exceptions import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.registry import versions
from webapp.storage.store import saving
from webapp.tables import Deployment, ModelVersion, Task
from webapp.tables.columns import iso

# The files of a model folder an admin may open: its plots and metrics.
PLOT_FILES = {
    "training_curve.png",
    "holdout/roc.png",
    "holdout/confusion_matrix.png",
    "holdout/evaluation.json",
    "metrics.json",
}

# What a domain adds to a version as the console shows it, registered by `webapp.wiring`: extra
# fields of a version (a task model's live agreement), and files kept outside its model folder (a
# shipped version's evaluation plots; None when it has no such file).
_version_fields: list[Callable[[ModelVersion], dict]] = []
_stored_files: list[Callable[[ModelVersion, str], Path | None]] = []


def add_version_details(
    fields: Callable[[ModelVersion], dict], stored_file: Callable[[ModelVersion, str], Path | None]
) -> Callable[[], None]:
    """Show `fields(mv)` with every version and serve `stored_file(mv, name)` before the folder's
    own files (the same pair again is a no-op); returns what removes them."""
    if fields not in _version_fields:
        _version_fields.append(fields)
    if stored_file not in _stored_files:
        _stored_files.append(stored_file)

    def undo() -> None:
        _version_fields.remove(fields)
        _stored_files.remove(stored_file)

    return undo


def _extra_fields(mv: ModelVersion) -> dict:
    return {k: v for fields in _version_fields for k, v in fields(mv).items()}


def targets() -> list[dict]:
    """Every task and every other target with versions: what is deployed and how many versions."""
    names = [t.name for t in db.session.scalars(db.select(Task).order_by(Task.id))]
    names += [
        t for t in db.session.scalars(db.select(ModelVersion.target).distinct()) if t not in names
    ]
    out = []
    for name in names:
        mv = versions.deployed(name)
        count = db.session.scalar(
            db.select(db.func.count(ModelVersion.id)).where(ModelVersion.target == name)
        )
        out.append({"target": name, "deployed": mv.version if mv else None, "versions": count})
    return out


def versions_of(target: str) -> list[dict]:
    """Every version of `target`, newest first, as the API shows it; NotFound when `target` is
    neither a task nor has versions."""
    current = versions.deployed(target)
    rows = db.session.scalars(
        db.select(ModelVersion)
        .where(ModelVersion.target == target)
        .order_by(ModelVersion.id.desc())
    ).all()
    if not rows and db.session.scalar(db.select(Task).where(Task.name == target)) is None:
        raise NotFound(f"No models or task named {target!r}.")
    return [
        {**versions.describe(mv, current.id if current else None), **_extra_fields(mv)}
        for mv in rows
    ]


def every_version(target: str | None = None) -> list[ModelVersion]:
    """Every version (of `target` only, when given), by target, oldest first."""
    query = db.select(ModelVersion).order_by(ModelVersion.target, ModelVersion.id)
    if target:
        query = query.where(ModelVersion.target == target)
    return list(db.session.scalars(query))


def promote(
    target: str, version: str, actor: str, reason: str = "promoted by an admin"
) -> ModelVersion:
    """Deploy `version` of `target` at an admin's request (committed)."""
    mv = versions.promote(target, version, actor=actor, reason=reason)
    db.session.commit()
    return mv


def register_folder(target: str, model_dir: Path, actor: str) -> ModelVersion:
    """The model folder `model_dir` (written by `python -m ml.train`) as the next version of
    `target` (committed, its archive stored first); Invalid when it is not a model folder of a
    registered kind."""
    try:
        meta = read_meta(model_dir)
        ml_kinds.kind_of(model_dir)
    except ModelDirError as exc:
        raise Invalid(str(exc)) from None
    with saving() as new_keys:
        mv = versions.register_version(
            target,
            meta["kind"],
            model_dir,
            new_keys,
            metrics=meta.get("metrics"),
            config=meta.get("config"),
            created_by=actor,
        )
    return mv


def rollback(target: str, actor: str) -> ModelVersion:
    """Deploy the version served before the current one (committed); Conflict when there is none."""
    mv = versions.rollback(target, actor=actor)
    db.session.commit()
    return mv


def deploy_log(target: str | None = None, limit: int = 500) -> list[dict]:
    """Every move of a deploy pointer (of `target` only, when given), newest first."""
    query = db.select(Deployment).order_by(Deployment.id.desc()).limit(limit)
    if target:
        query = query.where(Deployment.target == target)
    return [_move(row) for row in db.session.scalars(query).all()]


def _version_name(version_id: int | None) -> str | None:
    mv = db.session.get(ModelVersion, version_id) if version_id else None
    return mv.version if mv else None


def _move(row: Deployment) -> dict:
    """One move of a deploy pointer. `previous` is what served before it (a rollback included);
    `rolls_back_to` is what a rollback right after it would deploy (the registry's history)."""
    before = db.session.scalar(
        db.select(Deployment.model_version_id)
        .where(Deployment.target == row.target, Deployment.id < row.id)
        .order_by(Deployment.id.desc())
        .limit(1)
    )
    return {
        "target": row.target,
        "version": row.model_version.version,
        "action": row.action,
        "actor": row.actor,
        "reason": row.reason,
        "created": iso(row.created),
        "previous": _version_name(before),
        "rolls_back_to": _version_name(row.previous_version_id),
    }


def version_file(target: str, version: str, name: str) -> Path:
    """A plot or metrics file of a version, unpacked and checked; NotFound for an unknown file or
    version, Conflict when the stored version is refused (corrupt or missing)."""
    mv = versions.find(target, version)
    for stored_file in _stored_files:  # e.g. a shipped version's evaluation plots
        if (stored := stored_file(mv, name)) is not None:
            return stored
    if name not in PLOT_FILES:
        raise NotFound(f"Unknown file {name!r}; one of {sorted(PLOT_FILES)}.")
    try:
        path = versions.local_dir(mv) / name
    except versions.ModelRefused as exc:
        raise Conflict(str(exc)) from None
    if not path.is_file():
        raise NotFound(f"{target} {version} has no {name}.")
    return path
