"""Importing labelled pictures from the console: a zip of `<label>/` folders, or pictures
dropped per label."""

from __future__ import annotations

from flask import jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import ImportReportSchema, ImportUploadSchema
from webapp.auth.access import admin_required, current_admin
from webapp.classification import importing, tasks
from webapp.exceptions import Invalid
from webapp.tables import Task


@bp.post("/api/admin/tasks/<name>/import")
@admin_required
@bp.doc(
    summary="Import labelled pictures into a task (a zip of <label>/ folders, or files of one "
    "label)",
    description="Send either `archive` (a zip holding one folder per label of the task, "
    "optionally inside one top folder) or `label` plus one or more `files`. Every picture is "
    "validated like an upload (JPEG, PNG or WebP), stored once per content and labelled for the "
    "task; a bad picture is listed in `files` with its reason and skipped. A request is at most "
    "MAX_UPLOAD_MB; send larger sets in several requests. A few small pictures are imported at "
    "once (200 with the report); more run as an `import` job (202 with `job_id`; the job's "
    "`result` is the report, its `progress` the share of pictures checked). An archive that "
    "unpacks beyond IMPORT_MAX_MB, or far beyond its size, is refused.\n",
)
@bp.arguments(ImportUploadSchema, location="files")
@bp.response(200, ImportReportSchema, description="What was imported, per file.")
@bp.alt_response(202, schema={"type": "object"}, description="Queued as an import job.")
@bp.alt_response(400, response="BadRequest")
@bp.alt_response(404, response="NotFound")
@bp.alt_response(413, response="TooLarge")
def import_data(form: dict, name: str):
    """Import labelled pictures into a task, as `flask data import-folder` does."""
    task = tasks.named(name, f"No task named {name!r}; create it on the Tasks page first.")
    archive, files = form.get("archive"), form.get("files", [])
    if bool(archive) == bool(files):
        raise Invalid("Send either 'archive' (a zip of <label>/ folders) or 'label' with 'files'.")
    if archive:
        items = importing.archive_items(task, archive.stream)
    else:
        items = _dropped(task, form.get("label", ""), files)
    actor = current_admin().username
    if not importing.fits_inline(items):
        job = importing.start_import_job(task, _archive_bytes(archive, items), actor)
        return jsonify({"job_id": job.id, "status_url": f"/api/admin/jobs/{job.id}"}), 202
    report = importing.import_images(task, items, source="console", actor=actor)
    return jsonify(report.to_dict())


def _dropped(task: Task, label: str, files) -> list[importing.Item]:
    if label not in task.labels:
        raise Invalid(f"'label' must be one of {task.name!r}'s labels {task.labels}.")
    return [importing.Item(f.filename or "picture", label, _reader(f)) for f in files]


def _reader(upload):
    """Read the whole upload, each time it is asked (its header is read once to count pixels)."""

    def read() -> bytes:
        upload.stream.seek(0)
        return upload.stream.read()

    return read


def _archive_bytes(archive, items: list[importing.Item]) -> bytes:
    """The zip a job imports: the one sent, or one made of the dropped pictures."""
    if archive:
        archive.stream.seek(0)
        return archive.stream.read()
    return importing.zip_of(items)
