"""Admin console pages: each renders a shell that its script in static/js/admin/ fills from /api/admin/*."""

from flask import current_app, render_template
from flask_login import login_required

from webapp.admin import bp


@bp.get("/admin")
@login_required
def dashboard():
    """Per task: the deployed model, feedback over time, live agreement; per style method: ratings."""
    return render_template("admin/dashboard.html")


@bp.get("/admin/review")
@login_required
def review():
    """The review queue: verify or reject users' labels."""
    return render_template("admin/review.html")


@bp.get("/admin/tasks")
@login_required
def tasks():
    """Classification tasks and the form that creates one."""
    return render_template("admin/tasks.html")


@bp.get("/admin/import")
@login_required
def import_page():
    """Pick a task, upload a zip or drop pictures per label, watch each file's result."""
    return render_template("admin/import.html", max_upload_mb=current_app.config["MAX_UPLOAD_MB"])


@bp.get("/admin/models")
@bp.get("/admin/models/<target>")
@login_required
def models(target: str | None = None):
    """Retrainable targets; for one target its versions, plots, schedule, promote and rollback."""
    return render_template("admin/models.html", target=target)


@bp.get("/admin/jobs")
@login_required
def jobs():
    """Recent jobs with live progress."""
    return render_template("admin/jobs.html")


@bp.get("/admin/jobs/<job_id>")
@login_required
def job(job_id: str):
    """One job: progress, log tail, result, cancel."""
    return render_template("admin/job.html", job_id=job_id)


@bp.get("/admin/audit")
@login_required
def audit():
    """The deploy audit log."""
    return render_template("admin/audit.html")
