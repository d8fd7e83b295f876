"""Admin API for jobs: queue a retrain, list recent jobs, one job's status, cancel one."""

from flask import jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import (
    BusySchema,
    JobSchema,
    JobsQuery,
    RetrainAcceptedSchema,
    RetrainRequestSchema,
)
from webapp.auth.access import admin_required, current_admin
from webapp.jobs import runner
from webapp.jobs.runner import describe_job
from webapp.registry import targets
from webapp.tables import Job
from webapp.web.requests import get_or_404


@bp.post("/api/admin/retrain")
@admin_required
@bp.doc(summary="Retrain a task or a style model (queued)")
@bp.arguments(RetrainRequestSchema)
@bp.response(202, RetrainAcceptedSchema, description="Queued.")
@bp.alt_response(404, response="NotFound")
@bp.alt_response(
    409,
    schema=BusySchema,
    description="A retrain of the same target is queued or running; job_id names it.",
)
def retrain(body: dict):
    """Queue a retrain job."""
    job = targets.start_retrain(targets.from_request(body), current_admin().username)
    return jsonify({"job_id": job.id}), 202


@bp.get("/api/admin/jobs")
@admin_required
@bp.doc(summary="Recent jobs, newest first")
@bp.arguments(JobsQuery, location="query")
@bp.response(200, JobSchema(many=True), description="Jobs.")
def list_jobs(query: dict):
    """Recent jobs, newest first."""
    jobs = runner.recent_jobs(query["limit"], query.get("kind"))
    return jsonify([runner.describe_job(j) for j in jobs])


@bp.get("/api/admin/jobs/<job_id>")
@admin_required
@bp.doc(summary="A job's status, progress, log tail and result")
@bp.response(200, JobSchema, description="The job.")
def job_status(job_id: str):
    """Status, progress, log tail and result of a job."""
    job = get_or_404(Job, job_id, "job")
    return jsonify(describe_job(job))


@bp.post("/api/admin/jobs/<job_id>/cancel")
@admin_required
@bp.doc(summary="Cancel a job")
@bp.response(202, JobSchema, description="Cancelled, or asked to stop.")
@bp.alt_response(409, response="Conflict")
def cancel_job(job_id: str):
    """Ask a queued or running job to stop."""
    job = get_or_404(Job, job_id, "job")
    runner.cancel(job)
    return jsonify(runner.describe_job(job)), 202
