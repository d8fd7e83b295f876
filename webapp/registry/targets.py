"""What a target is: the one place that knows which retrain target a target name belongs to.

A *target* is the name the registry keeps versions and deployments under: a classification task
(`gender`), a built-in style network (`arbitrary`, `preset`), an AdaIN decoder (`adain`) or a
fixed style registered from the command line (`vangogh`). The retrain targets are those of the
registered model-kind plugins (`webapp.registry.model_kinds`), asked in registration order, first
match wins; the gate (`webapp.registry.gate`), the admin API, the CLI and the schedules handle
every one through `resolve`.
"""

from __future__ import annotations

from webapp.exceptions import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.jobs.runner import create_job, enqueue
from webapp.registry import model_kinds, versions
from webapp.registry.model_kinds import RetrainTarget, retrain_targets
from webapp.tables import Job

RETRAIN_JOB = "retrain"  # the job type of a retrain (registered by webapp.wiring)


def resolve(target: str) -> RetrainTarget:
    """The retrain target family `target` belongs to, or NotFound: the one of its newest version's
    model kind when that owns it, else the first that does."""
    plugin = model_kinds.find(versions.latest_kind(target) or "")
    if plugin is not None and plugin.retrain is not None and plugin.retrain.owns(target):
        return plugin.retrain
    for family in retrain_targets():
        if family.owns(target):
            return family
    raise NotFound(f"No task or model named {target!r}.")


def is_task(target: str) -> bool:
    """True when `target` names a classification task."""
    family = resolve_or_none(target)
    return family is not None and family.label == "task"


def resolve_or_none(target: str) -> RetrainTarget | None:
    """The retrain target family of `target`, or None when nothing has that name."""
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
        family = resolve_or_none(name)
        if family is None or family.label != label:
            what = "task" if label == "task" else "style model"
            hint = "" if label == "task" else "; register one first (flask models register)"
            raise NotFound(f"No {what} named {name!r}{hint}.")
        family.check_request(name)
        return name
    raise Invalid(
        'Send {"task": "<task name>"} or {"style": "arbitrary" | "adain" | "<fixed style>"}.'
    )


def start_retrain(target: str, actor: str) -> Job:
    """Queue a retrain of `target`, or Conflict naming the one already queued or running."""
    family = resolve(target)
    busy = db.session.scalar(
        db.select(Job).where(
            Job.kind == RETRAIN_JOB, Job.target == target, Job.status.in_(("queued", "running"))
        )
    )
    if busy is not None:
        raise Conflict(f"A retrain of {target!r} is already {busy.status}.", job_id=busy.id)
    job = create_job(
        RETRAIN_JOB,
        target=target,
        params={"target_type": family.label, "model_kind": family.name},
        created_by=actor,
    )
    db.session.commit()
    enqueue(job)
    return job
