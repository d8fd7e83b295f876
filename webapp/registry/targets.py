"""What a target is: the one place that knows which kind of model a target name serves and how
that kind is retrained.

A *target* is the name the registry keeps versions and deployments under: a classification task
(`gender`), a built-in style network (`arbitrary`, `preset`), an AdaIN decoder (`adain`) or a
fixed style registered from the command line (`vangogh`). Every kind of target implements
`TargetKind`; `KINDS` registers them, first match wins. Adding one means one module that
implements `TargetKind` and one line in `KINDS`; the gate (`webapp.registry.gate`), the admin API,
the CLI and the schedules then handle it.
"""

from __future__ import annotations

from webapp.classification.retrain import CLASSIFIER
from webapp.exceptions import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.jobs.runner import create_job, enqueue
from webapp.registry.kinds import TargetKind
from webapp.style.retrain import FIXED_STYLES, RETRAIN_ADAIN, RETRAIN_ARBITRARY
from webapp.tables import Job

# The registration: every kind of model, asked in this order; the first that owns a target wins.
KINDS: tuple[TargetKind, ...] = (CLASSIFIER, RETRAIN_ARBITRARY, RETRAIN_ADAIN, FIXED_STYLES)


def resolve(target: str) -> TargetKind:
    """The kind of model `target` is, or NotFound."""
    for kind in KINDS:
        if kind.owns(target):
            return kind
    raise NotFound(f"No task or model named {target!r}.")


def is_task(target: str) -> bool:
    """True when `target` names a classification task."""
    kind = resolve_or_none(target)
    return kind is not None and kind.label == "task"


def resolve_or_none(target: str) -> TargetKind | None:
    """The kind of `target`, or None when nothing has that name."""
    try:
        return resolve(target)
    except NotFound:
        return None


def from_request(body: dict) -> str:
    """The target a retrain request names: {"task": name} or {"style": name}; refused when it cannot be retrained."""
    for label in ("task", "style"):
        name = body.get(label)
        if not isinstance(name, str):
            continue
        kind = resolve_or_none(name)
        if kind is None or kind.label != label:
            what = "task" if label == "task" else "style model"
            hint = "" if label == "task" else "; register one first (flask models register)"
            raise NotFound(f"No {what} named {name!r}{hint}.")
        kind.check_request(name)
        return name
    raise Invalid(
        'Send {"task": "<task name>"} or {"style": "arbitrary" | "adain" | "<fixed style>"}.'
    )


def start_retrain(target: str, actor: str) -> Job:
    """Queue a retrain of `target`, or Conflict naming the one already queued or running."""
    kind = resolve(target)
    busy = db.session.scalar(
        db.select(Job).where(
            Job.kind == "retrain", Job.target == target, Job.status.in_(("queued", "running"))
        )
    )
    if busy is not None:
        raise Conflict(f"A retrain of {target!r} is already {busy.status}.", job_id=busy.id)
    job = create_job(
        "retrain",
        target=target,
        params={"target_type": kind.label, "model_kind": kind.name},
        created_by=actor,
    )
    db.session.commit()
    enqueue(job)
    return job
