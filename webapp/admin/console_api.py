"""Admin API behind the console: overview, review queue, jobs, audit log, model files, schedules."""

from __future__ import annotations

import datetime as dt
import re

from flask import Response, jsonify
from sqlalchemy.orm import selectinload

from webapp import retention
from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.classification import learning, voters
from webapp.extensions import db
from webapp.jobs.runner import describe_job, request_cancel
from webapp.registry import versions as registry
from webapp.storage.service import storage
from webapp.style import service as style_service
from webapp.style.methods import rating_distribution
from webapp.tables import (
    AuditEvent,
    Classification,
    Deployment,
    Feedback,
    Image,
    Job,
    ModelVersion,
    Task,
    TrainingExample,
    utcnow,
)
from webapp.tables.base import iso
from webapp.web.errors import ApiError
from webapp.web.requests import get_or_404, json_body
from webapp.web.validation import query_int, query_str

PLOT_FILES = {
    "training_curve.png",
    "holdout/roc.png",
    "holdout/confusion_matrix.png",
    "holdout/evaluation.json",
    "metrics.json",
}


def _per_day(rows) -> list[dict]:
    days: dict[str, dict] = {}
    for created, agrees in rows:
        entry = days.setdefault(
            created.date().isoformat(), {"day": created.date().isoformat(), "n": 0, "agree": 0}
        )
        entry["n"] += 1
        entry["agree"] += bool(agrees)
    for entry in days.values():
        entry["agreement"] = round(entry["agree"] / entry["n"], 4) if entry["n"] else None
    return sorted(days.values(), key=lambda e: e["day"])


def task_overview(task: Task, since: dt.datetime) -> dict:
    """Feedback over time and the deployed model's live agreement with user labels."""
    mv = registry.deployed(task.name)
    feedback = db.session.execute(
        db.select(Feedback.created, Feedback.agrees).where(
            Feedback.task_id == task.id, Feedback.created >= since
        )
    ).all()
    live = []
    if mv is not None:
        live = db.session.execute(
            db.select(Feedback.created, Feedback.agrees)
            .join(Classification, Classification.id == Feedback.classification_id)
            .where(Classification.model_version_id == mv.id, Feedback.agrees.is_not(None))
        ).all()
    pending = db.session.scalar(
        db.select(db.func.count(Feedback.id)).where(
            Feedback.task_id == task.id, Feedback.review == "pending"
        )
    )
    trusted = db.session.scalar(
        db.select(db.func.count(TrainingExample.id)).where(TrainingExample.task_id == task.id)
    ) + db.session.scalar(
        db.select(db.func.count(Feedback.id)).where(
            Feedback.task_id == task.id, Feedback.review == "verified"
        )
    )
    return {
        "name": task.name,
        "labels": task.labels,
        "model_version": mv.version if mv else None,
        "metrics": {k: v for k, v in (mv.metrics or {}).items() if k != "holdout"} if mv else None,
        "feedback_per_day": [{"day": d["day"], "n": d["n"]} for d in _per_day(feedback)],
        "live_agreement": _per_day(live),
        "feedback_total": len(feedback),
        "pending_review": pending,
        "labels_needed": learning.labels_needed(task),
        "trusted_labels": trusted,
    }


@bp.get("/api/admin/overview")
@admin_required
def overview():
    """Everything the dashboard draws.
    ---
    get:
      summary: Dashboard data
      parameters:
        - name: days
          in: query
          schema: {type: integer, minimum: 1, maximum: 3650, default: 30}
          description: Feedback of the last N days.
      responses:
        200:
          description: "Per task and per style method."
          content: {application/json: {schema: Overview}}
    """
    since = utcnow() - dt.timedelta(days=query_int("days", 30, 1, 3650))
    tasks = [task_overview(t, since) for t in db.session.scalars(db.select(Task).order_by(Task.id))]
    running = db.session.scalar(
        db.select(db.func.count(Job.id)).where(Job.status.in_(("queued", "running")))
    )
    return jsonify(
        {
            "tasks": tasks,
            "styles": rating_distribution(),
            "jobs_active": running,
            "style_methods": style_service.list_methods(),
        }
    )


def _voter_of(rows: list[Feedback]) -> dict[int, str]:
    """Per feedback id, its voter (the addresses and cookies linked to its address), id shortened."""
    names = {tid: voters.task_voters(tid) for tid in {fb.task_id for fb in rows}}
    return {
        fb.id: names[fb.task_id].get((fb.client, fb.classification.owner), fb.client)[:8]
        for fb in rows
    }


def _describe_feedback(fb: Feedback, voter: str | None = None) -> dict:
    cl = fb.classification
    return {
        "voter": voter or fb.client[:8],
        "id": fb.id,
        "task": cl.task.name,
        "label": fb.label,
        "predicted": cl.label,
        "agrees": fb.agrees,
        "review": fb.review,
        "image_url": f"/api/admin/images/{fb.image_id}",
        "created": iso(fb.created),
        "client": fb.client[:8],
        "reviewed_by": fb.reviewed_by,
        "labels": cl.task.labels,
    }


INFORMATIVE_POOL = (
    5000  # the newest pending labels ranked by `informative`; beyond that, oldest first
)


@bp.get("/api/admin/feedback")
@admin_required
def feedback_queue():
    """The review queue: feedback by review state (default pending), oldest first or most informative first.
    ---
    get:
      summary: The review queue
      parameters:
        - {name: review, in: query, schema: {type: string, enum: [pending, verified, rejected], default: pending}}
        - name: order
          in: query
          schema: {type: string, enum: [oldest, informative], default: oldest}
          description: "oldest first, or the labels that would teach the model most first."
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 500, default: 50}
          description: At most this many.
        - {name: task, in: query, schema: {type: string, maxLength: 200}, description: "Only this task."}
      responses:
        200:
          description: "Feedback in the order asked for."
          content: {application/json: {schema: {type: array, items: FeedbackItem}}}
    """
    review = query_str("review", "pending", choices=("pending", "verified", "rejected"))
    order = query_str("order", "oldest", choices=tuple(learning.ORDERS))
    limit = query_int("limit", 50, 1, 500)
    query = (
        db.select(Feedback)
        .where(Feedback.review == review)
        .options(  # one query, not one per row
            selectinload(Feedback.classification).selectinload(Classification.task)
        )
    )
    if task := query_str("task"):
        query = query.join(Task, Task.id == Feedback.task_id).where(Task.name == task)
    if order == "oldest":
        rows = list(db.session.scalars(query.order_by(Feedback.id).limit(limit)))
        scores = learning.informativeness(rows)
    else:
        pool = list(db.session.scalars(query.order_by(Feedback.id.desc()).limit(INFORMATIVE_POOL)))
        scores = learning.informativeness(pool)
        rows = sorted(pool, key=lambda fb: (-scores[fb.id]["score"], fb.id))[:limit]
    who = _voter_of(rows)
    return jsonify(
        [{**_describe_feedback(fb, who[fb.id]), "informativeness": scores[fb.id]} for fb in rows]
    )


@bp.post("/api/admin/feedback/reject-voter")
@admin_required
def reject_voter():
    """Reject every pending label of one voter (or only of one address) in one action, audited.
    ---
    post:
      summary: Reject all pending labels of a voter or an address
      description: >-
        `client` is the id the review queue shows as `client` (an address) or `voter` (every
        address and uploader cookie linked to it), at least 8 characters. With `scope` `voter`
        (the default) the labels of every linked address and cookie are rejected, with `address`
        only that address's. `task` limits it to one task.
      requestBody: {required: true, content: {application/json: {schema: RejectVoterRequest}}}
      responses:
        200:
          description: "How many labels were rejected."
          content: {application/json: {schema: RejectVoterResult}}
    """
    body = json_body()
    prefix, scope, task_name = body.get("client"), body.get("scope", "voter"), body.get("task")
    if not isinstance(prefix, str) or not re.fullmatch(r"[0-9A-Za-z]{8,64}", prefix):
        raise ApiError(
            "'client' must be the 8-character id the review queue shows (client or voter)."
        )
    if scope not in ("voter", "address"):
        raise ApiError("'scope' must be 'voter' (every linked address and cookie) or 'address'.")
    if task_name is not None and not isinstance(task_name, str):
        raise ApiError("'task' must be a task name (text), or left out for every task.")
    task_id = None
    if task_name is not None:
        task = db.session.scalar(db.select(Task).where(Task.name == task_name))
        if task is None:
            raise ApiError(f"No task named {str(task_name)[:80]!r}.", 404)
        task_id = task.id
    rows = voters.pending_of(prefix.lower(), whole_voter=scope == "voter", task_id=task_id)
    admin, now = current_admin(), utcnow()
    for fb in rows:
        fb.review, fb.reviewed_by, fb.reviewed_at = "rejected", admin.username, now
    addresses = sorted({fb.client[:8] for fb in rows})
    retention.audit(
        "reject_voter",
        admin.username,
        f"{scope}:{prefix[:16]}",
        rejected=len(rows),
        addresses=addresses,
        task=task_name,
    )
    db.session.commit()
    return jsonify({"rejected": len(rows), "scope": scope, "addresses": addresses})


@bp.get("/api/admin/audit-events")
@admin_required
def audit_events():
    """The audit log of actions on people's data: deletions, bulk rejections, retention runs.
    ---
    get:
      summary: Deletions, bulk rejections and retention runs, newest first
      parameters:
        - {name: action, in: query, schema: {type: string, maxLength: 200}, description: "Only this action."}
      responses:
        200:
          description: "Audit events, newest first."
          content: {application/json: {schema: {type: array, items: AuditEvent}}}
    """
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)
    if action := query_str("action"):
        query = query.where(AuditEvent.action == action)
    return jsonify(
        [
            {
                "action": e.action,
                "actor": e.actor,
                "subject": e.subject,
                "detail": e.detail,
                "created": iso(e.created),
            }
            for e in db.session.scalars(query)
        ]
    )


@bp.post("/api/admin/feedback/<int:feedback_id>/review")
@admin_required
def review_feedback(feedback_id: int):
    """Verify (optionally correcting the label) or reject a user's label.
    ---
    post:
      summary: Verify or reject a user's label
      requestBody: {required: true, content: {application/json: {schema: ReviewRequest}}}
      responses:
        200:
          description: "The reviewed feedback."
          content: {application/json: {schema: FeedbackItem}}
    """
    fb = get_or_404(Feedback, feedback_id, "feedback")
    body = json_body()
    verdict, label = body.get("verdict"), body.get("label", fb.label)
    if verdict not in ("verified", "rejected"):
        raise ApiError("'verdict' must be 'verified' or 'rejected'.")
    if label not in fb.classification.task.labels:
        raise ApiError(f"'label' must be one of {fb.classification.task.labels}.")
    fb.review, fb.label, fb.reviewed_by, fb.reviewed_at = (
        verdict,
        label,
        current_admin().username,
        utcnow(),
    )
    db.session.commit()
    return jsonify(_describe_feedback(fb, _voter_of([fb])[fb.id]))


@bp.get("/api/admin/images/<int:image_id>")
@admin_required
def image(image_id: int):
    """An uploaded image, for reviewing.
    ---
    get:
      summary: An uploaded image
      responses:
        200:
          description: "The image."
          content: {image/*: {schema: {type: string, format: binary}}}
    """
    row = get_or_404(Image, image_id, "image")
    return Response(storage().get(row.storage_key), mimetype=row.mimetype)


@bp.get("/api/admin/jobs")
@admin_required
def list_jobs():
    """Recent jobs, newest first.
    ---
    get:
      summary: Recent jobs, newest first
      parameters:
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 500, default: 50}
          description: At most this many.
        - name: kind
          in: query
          schema: {type: string, maxLength: 200}
          description: Only jobs of this kind (retrain, stylize).
      responses:
        200:
          description: "Jobs."
          content: {application/json: {schema: {type: array, items: Job}}}
    """
    query = db.select(Job).order_by(Job.created.desc()).limit(query_int("limit", 50, 1, 500))
    if kind := query_str("kind"):
        query = query.where(Job.kind == kind)
    return jsonify([describe_job(j) for j in db.session.scalars(query)])


@bp.post("/api/admin/jobs/<job_id>/cancel")
@admin_required
def cancel_job(job_id: str):
    """Ask a queued or running job to stop.
    ---
    post:
      summary: Cancel a job
      responses:
        202:
          description: "Cancelled, or asked to stop."
          content: {application/json: {schema: Job}}
        409: Conflict
    """
    job = get_or_404(Job, job_id, "job")
    if job.status in ("done", "failed"):
        raise ApiError(f"Job {job_id} has already ended ({job.status}).", 409)
    request_cancel(job)
    db.session.commit()
    return jsonify(describe_job(job)), 202


@bp.get("/api/admin/deployments")
@admin_required
def deployments():
    """The audit log: every move of every deploy pointer, newest first.
    ---
    get:
      summary: The deploy audit log
      parameters:
        - {name: target, in: query, schema: {type: string, maxLength: 200}, description: "Only this target."}
      responses:
        200:
          description: "Deploy pointer moves, newest first."
          content: {application/json: {schema: {type: array, items: Deployment}}}
    """
    query = db.select(Deployment).order_by(Deployment.id.desc()).limit(500)
    if target := query_str("target"):
        query = query.where(Deployment.target == target)
    rows = db.session.scalars(query).all()
    return jsonify([_audit_row(row) for row in rows])


def _version_name(version_id: int | None) -> str | None:
    mv = db.session.get(ModelVersion, version_id) if version_id else None
    return mv.version if mv else None


def _audit_row(row: Deployment) -> dict:
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


@bp.get("/api/admin/targets")
@admin_required
def targets():
    """Every retrainable target: tasks and style models, with what is deployed.
    ---
    get:
      summary: Retrainable targets
      responses:
        200:
          description: "Tasks and style models."
          content: {application/json: {schema: {type: array, items: Target}}}
    """
    names = [t.name for t in db.session.scalars(db.select(Task).order_by(Task.id))]
    names += [
        t for t in db.session.scalars(db.select(ModelVersion.target).distinct()) if t not in names
    ]
    out = []
    for name in names:
        mv = registry.deployed(name)
        count = db.session.scalar(
            db.select(db.func.count(ModelVersion.id)).where(ModelVersion.target == name)
        )
        out.append({"target": name, "deployed": mv.version if mv else None, "versions": count})
    return jsonify(out)


@bp.get("/api/admin/models/<target>/<version>/files/<path:name>")
@admin_required
def model_file(target: str, version: str, name: str):
    """A plot or the metrics of a model version (training curve, ROC curve, confusion matrix).
    ---
    get:
      summary: A plot or the metrics file of a model version
      responses:
        200:
          description: "The file."
          content: {image/png: {schema: {type: string, format: binary}}, application/json: {schema: {type: object}}}
        409: Conflict
    """
    if name not in PLOT_FILES:
        raise ApiError(f"Unknown file {name!r}; one of {sorted(PLOT_FILES)}.", 404)
    mv = db.session.scalar(
        db.select(ModelVersion).where(
            ModelVersion.target == target, ModelVersion.version == version
        )
    )
    if mv is None:
        raise ApiError(f"No version {version!r} of {target!r}.", 404)
    try:
        path = registry.local_dir(mv) / name
    except registry.ModelRefused as exc:
        raise ApiError(str(exc), 409) from None
    if not path.is_file():
        raise ApiError(f"{target} {version} has no {name}.", 404)
    return Response(
        path.read_bytes(), mimetype="application/json" if name.endswith(".json") else "image/png"
    )
