"""Admin API for jobs: queue a retrain, list recent jobs, one job's status, cancel one."""

from flask import jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.jobs import runner
from webapp.jobs.runner import describe_job
from webapp.registry import targets
from webapp.tables import Job
from webapp.web.requests import get_or_404, json_body
from webapp.web.validation import query_int, query_str


@bp.post("/api/admin/retrain")
@admin_required
def retrain():
    """Queue a retrain job.
    ---
    post:
      summary: Retrain a task or a style model (queued)
      requestBody: {required: true, content: {application/json: {schema: RetrainRequest}}}
      responses:
        202: {description: "Queued.", content: {application/json: {schema: RetrainAccepted}}}
        404: NotFound
        409:
          description: "A retrain of the same target is queued or running; job_id names it."
          content: {application/json: {schema: Busy}}
    """
    job = targets.start_retrain(targets.from_request(json_body()), current_admin().username)
    return jsonify({"job_id": job.id}), 202


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


@bp.get("/api/admin/jobs/<job_id>")
@admin_required
def job_status(job_id: str):
    """Status, progress, log tail and result of a job.
    ---
    get:
      summary: A job's status, progress, log tail and result
      responses:
        200: {description: "The job.", content: {application/json: {schema: Job}}}
    """
    job = get_or_404(Job, job_id, "job")
    return jsonify(describe_job(job))


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
