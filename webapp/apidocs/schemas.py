"""Reusable OpenAPI components: the JSON shapes the HTTP API answers with, named once.

Routes point at them by name from their docstrings (`schema: Classification`); apispec turns
the names into `$ref`s. A shape's `required` list is what every answer carries; answers may
carry more fields than listed.
"""

from __future__ import annotations

from webapp.web.validation import ID_MAX, JSON_MAX_DEPTH


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STRING = {"type": "string"}
NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$", "example": "gender"}
OPAQUE_ID = {
    "type": "string",
    "description": "An opaque id that cannot be guessed (at least 128 random bits); "
    "whoever holds it can read the status and result.",
}
METRICS = _nullable(
    {"type": "object", "additionalProperties": True, "description": "Evaluation metrics."}
)
WHEN = _nullable({"type": "string", "format": "date-time"})
PROGRESS = {"type": "number", "minimum": 0, "maximum": 1}
STATUS = {"type": "string", "enum": ["queued", "running", "done", "failed"]}


def _object(required: list[str], **properties) -> dict:
    return {"type": "object", "required": required, "properties": properties}


SCHEMAS: dict[str, dict] = {
    "Error": _object(
        ["error"],
        error={"type": "string", "description": "What went wrong and what to do about it."},
    ),
    "Busy": _object(
        ["error", "job_id"],
        error=STRING,
        job_id={"type": "string", "description": "The job in the way."},
    ),
    # ---------------------------------------------------------------- classification
    "Task": _object(
        ["name", "labels", "model_version", "metrics"],
        name=STRING,
        labels={"type": "array", "items": STRING},
        description=STRING,
        model_version=_nullable(STRING),
        metrics=METRICS,
    ),
    "Classification": _object(
        ["id", "task", "label", "probability", "probabilities", "model_version", "face_box"],
        id=OPAQUE_ID,
        task=STRING,
        label=_nullable(STRING),
        probability=_nullable({"type": "number"}),
        probabilities={"type": "object", "additionalProperties": {"type": "number"}},
        model_version=_nullable(STRING),
        face_box=_nullable(
            {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 4,
                "maxItems": 4,
                "description": "[x, y, width, height] of the face the model looked at; null when none was found.",
            }
        ),
        face_found=_nullable(
            {
                "type": "boolean",
                "description": (
                    "Face models: false when no face was found (then `label` is null and `faces` "
                    "empty: no answer about a face that is not there); null for photo models."
                ),
            }
        ),
        faces={
            "type": "array",
            "items": {"$ref": "#/components/schemas/FaceAnswer"},
            "description": "Every face found, largest first; index 0 is the one the top-level "
            "fields describe. Empty for photo tasks and when no face was found.",
        },
        age_years={"type": "number", "description": "Task age only: the estimated age in years."},
    ),
    "FaceAnswer": _object(
        ["index", "face_box", "label", "probability", "probabilities"],
        index={"type": "integer", "minimum": 0, "description": "The face's number (0: largest)."},
        face_box={
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 4,
            "maxItems": 4,
            "description": "[x, y, width, height] in the photo's own pixels.",
        },
        rotation={
            "type": "integer",
            "enum": [0, 90, 180, 270],
            "description": "Degrees (counter-clockwise) the face was turned to be upright.",
        },
        label=STRING,
        probability={"type": "number"},
        probabilities={"type": "object", "additionalProperties": {"type": "number"}},
        age_years={"type": "number", "description": "Task age only: the estimated age in years."},
    ),
    "ClassifyUpload": _object(
        ["image"],
        image={"type": "string", "format": "binary", "description": "A JPEG, PNG or WebP photo."},
        task={**NAME, "description": "Task name (GET /api/tasks); default the first task."},
    ),
    "FeedbackRequest": _object(
        [],
        label={"type": "string", "description": "The true label, one of the task's labels."},
        face={
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "Which face the label is about (its index in `faces`).",
        },
        no_face={
            "type": "boolean",
            "description": "true: the photo holds no face (send it instead of a label).",
        },
    ),
    "FeedbackResult": _object(
        ["agrees", "label", "face", "counts"],
        agrees=_nullable(
            {
                "type": "boolean",
                "description": "Whether the model's answer was right; null without one.",
            }
        ),
        label=_nullable({"type": "string", "description": "The label stored (null: no face)."}),
        face=_nullable({"type": "integer", "description": "The face it is about (null: no face)."}),
        no_face={"type": "boolean"},
        counts={
            "type": "boolean",
            "description": "Whether it will count toward training (false for 'no face' or when "
            "an admin held this voter's labels back).",
        },
    ),
    # ---------------------------------------------------------------- style transfer
    "Preset": _object(
        ["id", "name", "thumbnail_url"],
        id={"type": "integer", "minimum": 1, "description": "1..26, the number the page shows."},
        name=STRING,
        thumbnail_url=STRING,
        default_strength={"type": "number", "minimum": 0, "maximum": 1},
    ),
    "StyleMethod": _object(
        ["method", "needs_style_image", "model_version", "description"],
        method=STRING,
        needs_style_image={"type": "boolean"},
        model_version=_nullable(STRING),
        description=STRING,
        default_strength={"type": "number", "minimum": 0, "maximum": 1},
        presets={
            "type": "array",
            "items": {"$ref": "#/components/schemas/Preset"},
            "description": "Only on method `preset`: the fixed styles to pick from.",
        },
    ),
    "StylizeUpload": _object(
        ["content"],
        content={"type": "string", "format": "binary", "description": "The photo to restyle."},
        style={
            "type": "string",
            "format": "binary",
            "description": "The style picture (methods that need one).",
        },
        method={
            "type": "string",
            "description": "A method from GET /api/styles; default `arbitrary`.",
        },
        preset={
            "type": "integer",
            "description": "With method `preset`: the preset id (1..26, as the page shows).",
        },
        strength={
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "0 gives the photo back, 1 the method's full style, graded between; "
            "default learned from ratings, else the method's (or the preset's) own.",
        },
        size={
            "type": "integer",
            "minimum": 64,
            "description": "Longest side in px; default 512, capped by the server.",
        },
    ),
    "StylizeAccepted": _object(["id", "status_url"], id=OPAQUE_ID, status_url=STRING),
    "Stylization": _object(
        ["id", "method", "status", "progress", "result_url", "error", "seconds"],
        id=OPAQUE_ID,
        method=STRING,
        status=STATUS,
        progress=PROGRESS,
        result_url=_nullable(STRING),
        error=_nullable(STRING),
        seconds=_nullable({"type": "number"}),
        strength={"type": "number", "minimum": 0, "maximum": 1},
        preset=_nullable(
            _object(["id", "name"], id={"type": "integer"}, name=STRING)
            | {"description": "The ready-made style used (method `preset` only)."}
        ),
    ),
    "RatingRequest": _object(
        ["stars"],
        stars={"type": "integer", "minimum": 1, "maximum": 5},
        comment={"type": "string", "maxLength": 2000},
    ),
    "Rating": _object(["stars"], stars={"type": "integer", "minimum": 1, "maximum": 5}),
    # ---------------------------------------------------------------- admin
    "TaskRequest": _object(
        ["name", "labels"],
        name=NAME,
        labels={"type": "array", "items": NAME, "minItems": 2, "uniqueItems": True},
        description={"type": "string", "maxLength": 255},
        face_crop={"type": "boolean"},
        features={
            "type": "string",
            "enum": ["face", "photo"],
            "description": (
                "What the task's model reads: 'face' (default), a head on pretrained face networks' "
                "features from the aligned face; 'photo', a head on VGG16 features of the whole "
                "(face-cropped) photo."
            ),
        },
    ),
    "TaskUpdate": _object(
        ["enabled"],
        enabled={
            "type": "boolean",
            "description": "false switches the task off: it leaves GET /api/tasks.",
        },
    ),
    "RetrainRequest": {
        "type": "object",
        "description": "Name a task or a style model.",
        "properties": {"task": STRING, "style": STRING},
    },
    "RetrainAccepted": _object(["job_id"], job_id=STRING),
    "Job": _object(
        ["id", "kind", "status", "progress", "log_tail", "result"],
        id=STRING,
        kind=STRING,
        target=_nullable(STRING),
        status=STATUS,
        progress=PROGRESS,
        log_tail=STRING,
        result=_nullable(
            {
                "type": "object",
                "additionalProperties": True,
                "description": "For a retrain: the new model_version, its metrics, the "
                "compared model's metrics, and whether it was promoted.",
            }
        ),
        error=_nullable(STRING),
        created=WHEN,
        started=WHEN,
        finished=WHEN,
        created_by=_nullable(STRING),
    ),
    "ModelVersion": _object(
        ["version", "created", "metrics", "deployed"],
        version=STRING,
        created=WHEN,
        metrics=METRICS,
        deployed={"type": "boolean"},
        kind=STRING,
        verdict=_nullable(
            {
                "type": "object",
                "description": "The retrain's outcome in plain words: headline, next, labels_needed.",
            }
        ),
    ),
    "Deployed": _object(["target", "deployed"], target=STRING, deployed=STRING),
    "Overview": _object(
        ["tasks", "styles", "jobs_active", "style_methods"],
        tasks={"type": "array", "items": {"type": "object"}},
        styles={"type": "object", "additionalProperties": True},
        jobs_active={"type": "integer"},
        style_methods={"type": "array", "items": {"$ref": "#/components/schemas/StyleMethod"}},
    ),
    "FeedbackItem": _object(
        ["id", "task", "label", "predicted", "agrees", "review", "image_url"],
        id={"type": "integer"},
        client={"type": "string", "description": "The address it came from (a short hash)."},
        voter={
            "type": "string",
            "description": "Its voter: every address and uploader cookie linked to that address "
            "(a short hash).",
        },
        task=STRING,
        label=_nullable({"type": "string", "description": "null: the user said there is no face."}),
        face={"type": "integer", "description": "Which face of the photo the label is about."},
        no_face={"type": "boolean", "description": "The user said the photo holds no face."},
        faces_found={"type": "integer", "description": "How many faces the model found."},
        predicted=_nullable(STRING),
        agrees=_nullable({"type": "boolean"}),
        review={"type": "string", "enum": ["pending", "verified", "rejected"]},
        image_url=STRING,
        created=WHEN,
        informativeness={
            "type": "object",
            "description": "How much verifying this label would teach the model: score and its parts.",
        },
    ),
    "RejectVoterRequest": _object(
        ["client"],
        client={
            "type": "string",
            "minLength": 8,
            "maxLength": 64,
            "pattern": "^[A-Za-z0-9]+$",
            "description": "The id the review queue shows as `client` or `voter`.",
        },
        scope={"type": "string", "enum": ["voter", "address"], "default": "voter"},
        task={"type": "string", "description": "Only this task's labels."},
    ),
    "RejectVoterResult": _object(
        ["rejected", "scope", "addresses"],
        rejected={"type": "integer"},
        scope=STRING,
        addresses={"type": "array", "items": STRING},
    ),
    "RejectVotersRequest": _object(
        ["task"],
        task=STRING,
        voters={"type": "array", "items": {"type": "string", "minLength": 8, "maxLength": 64}},
        crowd={"type": "string", "description": "A crowd's name from a retrain warning, or all."},
        since={"type": "string", "format": "date-time"},
        until={"type": "string", "format": "date-time"},
    ),
    "RejectVotersResult": _object(
        ["rejected", "voters", "addresses"],
        rejected={"type": "integer"},
        voters={"type": "integer"},
        addresses={"type": "array", "items": STRING},
    ),
    "AuditEvent": _object(
        ["action", "actor", "subject", "created"],
        action={"type": "string", "description": "delete, reject_voter, reject_voters or prune."},
        actor=STRING,
        subject=STRING,
        detail=_nullable({"type": "object", "additionalProperties": True}),
        created=WHEN,
    ),
    "ReviewRequest": _object(
        ["verdict"],
        verdict={"type": "string", "enum": ["verified", "rejected"]},
        label={"type": "string", "description": "A corrected label (default: the user's)."},
    ),
    "Target": _object(
        ["target", "deployed", "versions"],
        target=STRING,
        deployed=_nullable(STRING),
        versions={"type": "integer"},
    ),
    "Deployment": _object(
        ["target", "version", "action", "actor", "created"],
        target=STRING,
        version=STRING,
        action=STRING,
        actor=_nullable(STRING),
        reason=_nullable(STRING),
        created=WHEN,
        previous=_nullable(
            {"type": "string", "description": "The version serving before this move."}
        ),
        rolls_back_to=_nullable(
            {"type": "string", "description": "What a rollback right after this move deploys."}
        ),
    ),
    "Schedule": _object(
        ["target", "every_hours", "enabled"],
        target=STRING,
        every_hours={"type": "number"},
        enabled={"type": "boolean"},
        last_run=WHEN,
        last_job_id=_nullable(STRING),
        last_outcome=_nullable(STRING),
    ),
    "Deleted": _object(["deleted"], deleted=STRING),
    "StylesReady": _object(
        ["networks_ready", "thumbnails_ready", "thumbnails_total", "ready"],
        networks_ready={
            "type": "boolean",
            "description": "The fast networks are converted and deployed (first start: minutes).",
        },
        thumbnails_ready={"type": "array", "items": {"type": "integer"}},
        thumbnails_total={"type": "integer"},
        ready={"type": "boolean", "description": "Networks and every thumbnail are ready."},
    ),
    "ImportReport": _object(
        ["task", "added", "duplicates", "skipped", "files"],
        task=STRING,
        added={"type": "integer"},
        duplicates={"type": "integer", "description": "Pictures the task had already."},
        skipped={"type": "integer", "description": "Pictures refused; `files` says why."},
        files={
            "type": "array",
            "items": _object(
                ["name", "label", "status"],
                name=STRING,
                label=STRING,
                status={"type": "string", "enum": ["added", "duplicate", "skipped"]},
                reason=STRING,
            ),
        },
    ),
    "ScheduleRequest": _object(
        ["every_hours"],
        every_hours={"type": "number", "minimum": 0.05, "maximum": 2160},
        enabled={"type": "boolean"},
    ),
    # ---------------------------------------------------------------- operations
    "Health": _object(
        ["status", "database", "storage", "queue"],
        status={"type": "string", "enum": ["ok", "degraded"]},
        database=STRING,
        storage=STRING,
        queue=STRING,
    ),
}


def _error(description: str, retry_after: bool = False) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return response


RESPONSES: dict[str, dict] = {
    "BadRequest": _error(
        f"The request is malformed: a bad parameter, a body that is not a JSON object, "
        f"nested deeper than {JSON_MAX_DEPTH} levels, or an image that is not a valid "
        "JPEG, PNG or WebP."
    ),
    "Unauthorized": _error(
        "Admin login required (HTTP Basic with an admin account, or an admin session)."
    ),
    "NotFound": _error("No such resource."),
    "Conflict": _error(
        "The resource is not in a state that allows this, or conflicts with another change."
    ),
    "TooLarge": _error("The request body is too large (uploads: MAX_UPLOAD_MB; JSON: 1 MB)."),
    "TooManyRequests": _error(
        "Too many requests from this client, or its storage quota is used up; wait and retry.",
        retry_after=True,
    ),
    "Unavailable": _error(
        "The database, file storage or job queue is unavailable; nothing was changed.",
        retry_after=True,
    ),
}

PATH_PARAMETERS: dict[str, str] = {
    "classification_id": "The id a classification answer returned.",
    "stylization_id": "The id POST /api/stylize returned.",
    "job_id": "A job id (POST /api/admin/retrain returned it).",
    "target": "A retrainable target: a task name or a style model.",
    "version": "A model version of the target.",
    "feedback_id": "A feedback id from the review queue.",
    "image_id": "An uploaded image's id.",
    "name": "A file of the model version.",
    "which": "Which input picture.",
}

SECURITY_SCHEMES: dict[str, dict] = {
    "basicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "An admin account's user name and password.",
    },
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "An admin's session after logging in at /login; writes also need the "
        "X-CSRFToken header.",
    },
}

__all__ = ["ID_MAX", "PATH_PARAMETERS", "RESPONSES", "SCHEMAS", "SECURITY_SCHEMES"]
