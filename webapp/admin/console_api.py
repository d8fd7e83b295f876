"""Admin API behind the console: overview, review queue, jobs, audit log, model files, schedules."""

from __future__ import annotations

import datetime as dt

from flask import Response, jsonify

from webapp import retention
from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.classification import bulk, faces, learning, review, tasks
from webapp.classification.overview import task_overview
from webapp.jobs import runner
from webapp.registry import catalog
from webapp.storage.service import storage
from webapp.style import service as style_service
from webapp.style.offers import rating_distribution
from webapp.tables import Feedback, Image, Job, utcnow
from webapp.tables.base import iso
from webapp.web.requests import get_or_404, json_body
from webapp.web.validation import query_int, query_str


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
    return jsonify(
        {
            "tasks": [task_overview(t, since) for t in tasks.every()],
            "styles": rating_distribution(),
            "jobs_active": runner.active_count(),
            "style_methods": style_service.list_methods(),
        }
    )


def _describe_feedback(fb: Feedback, voter: str | None = None) -> dict:
    cl = fb.classification
    return {
        "voter": voter or fb.client[:8],
        "id": fb.id,
        "task": cl.task.name,
        "label": fb.label,
        "face": fb.face,
        "no_face": fb.no_face,
        "faces_found": len(faces.listed(cl)),
        "predicted": (faces.find(cl, fb.face) or {}).get("label", cl.label),
        "agrees": fb.agrees,
        "review": fb.review,
        "image_url": f"/api/admin/images/{fb.image_id}",
        "created": iso(fb.created),
        "client": fb.client[:8],
        "reviewed_by": fb.reviewed_by,
        "labels": cl.task.labels,
    }


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
    rows, scores = review.queue(
        query_str("review", "pending", choices=review.REVIEWS),
        query_str("order", "oldest", choices=tuple(learning.ORDERS)),
        query_int("limit", 50, 1, 500),
        query_str("task"),
    )
    who = review.voter_of(rows)
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
    scope = body.get("scope", "voter")
    rows = review.reject_voter(
        body.get("client"), scope, body.get("task"), current_admin().username
    )
    return jsonify({"rejected": len(rows), "scope": scope, "addresses": review.addresses_of(rows)})


@bp.post("/api/admin/feedback/reject-voters")
@admin_required
def reject_voters():
    """Reject every pending label of many voters of one task in one call, audited.
    ---
    post:
      summary: Reject the pending labels of many voters at once
      description: >-
        Name the voters one way: `voters`, a list of ids the review queue shows (`voter` or
        `client`); `crowd`, a crowd a retrain's warning named (or `all` of the task's crowds:
        bursts of new addresses each labelling one or two new images); or `since` / `until`
        (ISO 8601), every voter whose first label of the task falls in that window.
      requestBody: {required: true, content: {application/json: {schema: RejectVotersRequest}}}
      responses:
        200:
          description: "How many labels of how many voters were rejected."
          content: {application/json: {schema: RejectVotersResult}}
    """
    return jsonify(bulk.reject_voters(json_body(), current_admin().username))


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
    return jsonify(
        [
            {
                "action": e.action,
                "actor": e.actor,
                "subject": e.subject,
                "detail": e.detail,
                "created": iso(e.created),
            }
            for e in retention.audit_events(query_str("action"))
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
    review.judge(fb, body.get("verdict"), body.get("label", fb.label), current_admin().username)
    return jsonify(_describe_feedback(fb, review.voter_of([fb])[fb.id]))


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
    jobs = runner.recent_jobs(query_int("limit", 50, 1, 500), query_str("kind"))
    return jsonify([runner.describe_job(j) for j in jobs])


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
    runner.cancel(job)
    return jsonify(runner.describe_job(job)), 202


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
    return jsonify(catalog.deploy_log(query_str("target")))


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
    return jsonify(catalog.targets())


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
    path = catalog.version_file(target, version, name)
    return Response(
        path.read_bytes(), mimetype="application/json" if name.endswith(".json") else "image/png"
    )
