"""The HTTP API's shapes, declared once as marshmallow schemas.

A request schema both checks what a client sends (a view's `arguments` declaration, read by
webapp.web.validation.parser) and describes it in /api/openapi.json; a response schema describes
an answer (its `response` declaration). flask-smorest's marshmallow plugin names each one after its class
(`TaskSchema` -> `Task`). A shape's required fields are what every answer carries; answers may
carry more fields than listed.

Field messages are the rest of a sentence about the field ("must be a whole number from 1 to
5."): the parser puts the field's name in front and what was received after.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from webapp.classification.learning import ORDERS
from webapp.classification.review import REVIEWS
from webapp.tables.columns import iso
from webapp.uploads import ACCEPTED_TEXT
from webapp.web.validation import ID_MAX, JSON_MAX_DEPTH

NAME_PATTERN = "^[a-z][a-z0-9_-]{0,63}$"
STATUSES = ["queued", "running", "done", "failed"]


def _meta(description: str | None = None, **extra) -> dict:
    return {"metadata": {**({"description": description} if description else {}), **extra}}


def text(
    description: str | None = None, *, nullable: bool = False, required: bool = False, **extra
) -> fields.String:
    """A string (`extra`: documented constraints such as `pattern`, `example`, `maxLength`)."""
    return fields.String(allow_none=nullable, required=required, **_meta(description, **extra))


def slug(description: str | None = None, *, required: bool = False, **extra) -> fields.String:
    """A task or label name as the API shows them (documented pattern; the domain checks it)."""
    return text(description, required=required, pattern=NAME_PATTERN, example="gender", **extra)


def number(
    description: str | None = None, *, nullable: bool = False, required: bool = False, **extra
) -> fields.Float:
    return fields.Float(allow_none=nullable, required=required, **_meta(description, **extra))


def whole(
    description: str | None = None, *, nullable: bool = False, required: bool = False, **extra
) -> fields.Integer:
    return fields.Integer(allow_none=nullable, required=required, **_meta(description, **extra))


def flag(
    description: str | None = None, *, nullable: bool = False, required: bool = False
) -> fields.Boolean:
    return fields.Boolean(allow_none=nullable, required=required, **_meta(description))


def fraction(description: str | None = None, *, required: bool = False) -> fields.Float:
    """A number from 0 to 1."""
    return fields.Float(validate=validate.Range(0, 1), required=required, **_meta(description))


class When(fields.DateTime):
    """A timestamp as the API writes every one (webapp.tables.columns.iso: UTC, whole seconds)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


def when(*, required: bool = False) -> fields.DateTime:
    return When(allow_none=True, required=required)


def anything(
    description: str | None = None, *, nullable: bool = False, required: bool = False
) -> fields.Dict:
    """A JSON object of any fields."""
    return fields.Dict(allow_none=nullable, required=required, **_meta(description))


def objects(description: str | None = None, *, required: bool = False) -> fields.List:
    """An array of JSON objects of any fields."""
    return fields.List(fields.Dict(), required=required, **_meta(description))


def box(description: str, *, nullable: bool = False, required: bool = False) -> fields.List:
    """[x, y, width, height]."""
    return fields.List(
        fields.Integer(),
        validate=validate.Length(4, 4),
        allow_none=nullable,
        required=required,
        **_meta(description),
    )


def typed(type_: str, description: str | None = None, *, nullable: bool = False) -> fields.Raw:
    """A value of JSON type `type_` whose inside the description leaves open."""
    return fields.Raw(
        allow_none=nullable, metadata={"type": type_, **_meta(description)["metadata"]}
    )


def scores(*, required: bool = False) -> fields.Dict:
    """{label: probability}."""
    return fields.Dict(keys=fields.String(), values=fields.Float(), required=required)


def opaque_id(*, required: bool = False) -> fields.String:
    return text(
        "An opaque id that cannot be guessed (at least 128 random bits); "
        "whoever holds it can read the status and result.",
        required=required,
    )


def metrics(*, required: bool = False) -> fields.Dict:
    return anything("Evaluation metrics.", nullable=True, required=required)


def image(description: str, field: str, *, required: bool) -> Upload:
    """A picture sent as a multipart file; missing is refused with read_upload's own words."""
    return Upload(
        required=required,
        error_messages={
            "required": f"Missing image: send a {ACCEPTED_TEXT} file in the form field '{field}'."
        },
        **_meta(description),
    )


def domain(
    type_: str, description: str | None = None, *, required: str | None = None, **doc
) -> fields.Raw:
    """A field the domain checks itself, with its own words (it knows the names taken, a task's
    labels, the crowds found, and refuses in its own order); described here with the type and
    bounds it must have. `required`: the message when it is missing."""
    return fields.Raw(
        required=required is not None,
        error_messages={"required": required} if required else None,
        metadata={"type": type_, **({"description": description} if description else {}), **doc},
    )


class NoNul(validate.Validator):
    """Text without NUL characters (no database stores them)."""

    error = "must be text of at most 200 characters."

    def __call__(self, value):
        if "\x00" in value:
            raise ma.ValidationError(self.error)
        return value


def query_number(low: int, high: int, default: int, description: str) -> fields.Integer:
    """A whole-number query parameter from `low` to `high`."""
    return fields.Integer(
        load_default=default,
        validate=validate.Range(low, high, error=f"must be from {low} to {high}."),
        error_messages={"invalid": f"must be a whole number from {low} to {high}."},
        **_meta(description),
    )


def query_text(
    description: str | None = None, *, choices=None, default: str | None = None
) -> fields.String:
    """A text query parameter: one of `choices`, or any text of at most 200 characters."""
    if choices is not None:
        checks = validate.OneOf(choices, error=f"must be one of {list(choices)}.")
    else:
        checks = [
            validate.Length(max=200, error="must be text of at most 200 characters."),
            NoNul(),
        ]
    extra = {"load_default": default} if default is not None else {}
    return fields.String(validate=checks, **extra, **_meta(description))


class Shape(ma.Schema):
    """An answer's shape (documentation: views build their JSON themselves). Answers may carry
    more fields than a shape lists, so none is described as closed."""

    class Meta:
        unknown = ma.EXCLUDE


class RequestShape(ma.Schema):
    """What a client sends; fields it does not declare pass through untouched."""

    class Meta:
        unknown = ma.INCLUDE


class ErrorSchema(Shape):
    error = text("What went wrong and what to do about it.", required=True)


class BusySchema(Shape):
    error = text(required=True)
    job_id = text("The job in the way.", required=True)


# ---------------------------------------------------------------- classification


class TaskSchema(Shape):
    name = text(required=True)
    labels = fields.List(fields.String(), required=True)
    description = text()
    model_version = text(nullable=True, required=True)
    metrics = metrics(required=True)


class ClassificationSchema(Shape):
    id = opaque_id(required=True)
    task = text(required=True)
    label = text(nullable=True, required=True)
    probability = number(nullable=True, required=True)
    probabilities = scores(required=True)
    model_version = text(nullable=True, required=True)
    face_box = box(
        "[x, y, width, height] of the face the model looked at; null when none was found.",
        nullable=True,
        required=True,
    )
    face_found = flag(
        "Face models: false when no face was found (then `label` is null and `faces` "
        "empty: no answer about a face that is not there); null for photo models.",
        nullable=True,
    )
    faces = fields.List(
        fields.Nested(lambda: FaceAnswerSchema()),
        **_meta(
            "Every face found, largest first; index 0 is the one the top-level "
            "fields describe. Empty for photo tasks and when no face was found."
        ),
    )
    age_years = number("Task age only: the estimated age in years.")


class FaceAnswerSchema(Shape):
    index = whole("The face's number (0: largest).", minimum=0, required=True)
    face_box = box("[x, y, width, height] in the photo's own pixels.", required=True)
    rotation = fields.Integer(
        validate=validate.OneOf([0, 90, 180, 270]),
        **_meta("Degrees (counter-clockwise) the face was turned to be upright."),
    )
    label = text(required=True)
    probability = number(required=True)
    probabilities = scores(required=True)
    age_years = number("Task age only: the estimated age in years.")


class ClassifyUploadSchema(RequestShape):
    image = image("A JPEG, PNG or WebP photo.", "image", required=True)
    task = slug("Task name (GET /api/tasks); default the first task.")


class StrictBoolean(fields.Boolean):
    """JSON true or false, nothing else (no 1, "yes" or "true")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A JSON whole number (not true/false, not 1.0, not "1")."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def says(message: str) -> dict:
    """The same message for a wrong type and for null."""
    return {"invalid": message, "null": message}


class FeedbackRequestSchema(RequestShape):
    """Types here; which labels and faces exist is the classification's to say (404 for a face
    the photo does not have)."""

    label = fields.Raw(  # the classification says which labels its task has, and names them
        metadata={"type": "string", "description": "The true label, one of the task's labels."}
    )
    face = StrictInteger(
        error_messages=says("must be a face index (0 is the largest face)."),
        validate=validate.Range(min=0, error="must be a face index (0 is the largest face)."),
        **_meta("Which face the label is about (its index in `faces`).", minimum=0, default=0),
    )
    no_face = StrictBoolean(
        allow_none=True,
        error_messages=says("must be true or false."),
        **_meta("true: the photo holds no face (send it instead of a label)."),
    )


class FeedbackResultSchema(Shape):
    agrees = flag(
        "Whether the model's answer was right; null without one.", nullable=True, required=True
    )
    label = text("The label stored (null: no face).", nullable=True, required=True)
    face = whole("The face it is about (null: no face).", nullable=True, required=True)
    no_face = flag()
    counts = flag(
        "Whether it will count toward training (false for 'no face' or when "
        "an admin held this voter's labels back).",
        required=True,
    )


# ---------------------------------------------------------------- style transfer


class PresetSchema(Shape):
    id = whole("1..26, the number the page shows.", minimum=1, required=True)
    name = text(required=True)
    thumbnail_url = text(required=True)
    default_strength = fraction()


class StyleMethodSchema(Shape):
    method = text(required=True)
    needs_style_image = flag(required=True)
    model_version = text(nullable=True, required=True)
    description = text(required=True)
    default_strength = fraction()
    presets = fields.List(
        fields.Nested(PresetSchema),
        **_meta("Only on method `preset`: the fixed styles to pick from."),
    )


class StylizeUploadSchema(RequestShape):
    """Which methods and presets exist, and the size cap, are the style service's to check."""

    content = image("The photo to restyle.", "content", required=True)
    style = image("The style picture (methods that need one).", "style", required=False)
    method = text("A method from GET /api/styles; default `arbitrary`.")
    preset = fields.Raw(
        metadata={
            "type": "integer",
            "description": "With method `preset`: the preset id (1..26, as the page shows).",
        }
    )
    strength = fields.Float(
        validate=validate.Range(0, 1, error="must be from 0.0 to 1.0."),
        error_messages={
            "invalid": "must be a number from 0.0 to 1.0.",
            "special": "must be a number from 0.0 to 1.0.",
        },
        **_meta(
            "0 gives the photo back, 1 the method's full style, graded between; "
            "default learned from ratings, else the method's (or the preset's) own."
        ),
    )
    size = fields.Integer(
        validate=validate.Range(64, 100_000, error="must be from 64 to 100000."),
        error_messages={"invalid": "must be a number from 64 to 100000."},
        **_meta("Longest side in px; default 512, capped by the server."),
    )


class StylizeAcceptedSchema(Shape):
    id = opaque_id(required=True)
    status_url = text(required=True)


class StylizationPresetSchema(Shape):
    id = whole(required=True)
    name = text(required=True)


class StylizationSchema(Shape):
    id = opaque_id(required=True)
    method = text(required=True)
    status = fields.String(validate=validate.OneOf(STATUSES), required=True)
    progress = fraction(required=True)
    result_url = text(nullable=True, required=True)
    error = text(nullable=True, required=True)
    seconds = number(nullable=True, required=True)
    strength = fraction()
    preset = fields.Nested(
        StylizationPresetSchema,
        allow_none=True,
        **_meta("The ready-made style used (method `preset` only)."),
    )


class RatingRequestSchema(RequestShape):
    stars = StrictInteger(
        required=True,
        validate=validate.Range(1, 5, error="must be a whole number from 1 to 5."),
        error_messages={"required": "must be a whole number from 1 to 5."}
        | says("must be a whole number from 1 to 5."),
    )
    comment = fields.String(
        allow_none=True,
        validate=validate.Length(max=2000, error="must be text of at most 2000 characters."),
        error_messages={"invalid": "must be text of at most 2000 characters."},
    )


class RatingSchema(Shape):
    stars = fields.Integer(validate=validate.Range(1, 5), required=True)


# ---------------------------------------------------------------- admin


class RetrainAcceptedSchema(Shape):
    job_id = text(required=True)


class JobSchema(Shape):
    id = text(required=True)
    kind = text(required=True)
    target = text(nullable=True)
    status = fields.String(validate=validate.OneOf(STATUSES), required=True)
    progress = fraction(required=True)
    log_tail = text(required=True)
    result = anything(
        "For a retrain: the new model_version, its metrics, the "
        "compared model's metrics, and whether it was promoted.",
        nullable=True,
        required=True,
    )
    error = text(nullable=True)
    created = when()
    started = when()
    finished = when()
    created_by = text(nullable=True)


class ModelVersionSchema(Shape):
    version = text(required=True)
    created = when(required=True)
    metrics = metrics(required=True)
    deployed = flag(required=True)
    kind = text()
    verdict = typed(
        "object",
        "The retrain's outcome in plain words: headline, next, labels_needed.",
        nullable=True,
    )


class DeployedSchema(Shape):
    target = text(required=True)
    deployed = text(required=True)


class OverviewSchema(Shape):
    tasks = objects(required=True)
    styles = anything(required=True)
    jobs_active = whole(required=True)
    style_methods = fields.List(fields.Nested(StyleMethodSchema), required=True)


class FeedbackItemSchema(Shape):
    id = whole(required=True)
    client = text("The address it came from (a short hash).")
    voter = text(
        "Its voter: every address and uploader cookie linked to that address (a short hash)."
    )
    task = text(required=True)
    label = text("null: the user said there is no face.", nullable=True, required=True)
    face = whole("Which face of the photo the label is about.")
    no_face = flag("The user said the photo holds no face.")
    faces_found = whole("How many faces the model found.")
    predicted = text(nullable=True, required=True)
    agrees = flag(nullable=True, required=True)
    review = fields.String(validate=validate.OneOf(REVIEWS), required=True)
    image_url = text(required=True)
    created = when()
    informativeness = typed(
        "object", "How much verifying this label would teach the model: score and its parts."
    )


class RejectVoterResultSchema(Shape):
    rejected = whole(required=True)
    scope = text(required=True)
    addresses = fields.List(fields.String(), required=True)


class RejectVotersResultSchema(Shape):
    rejected = whole(required=True)
    voters = whole(required=True)
    addresses = fields.List(fields.String(), required=True)


class AuditEventSchema(Shape):
    action = text("delete, reject_voter, reject_voters or prune.", required=True)
    actor = text(required=True)
    subject = text(required=True)
    detail = anything(nullable=True)
    created = when(required=True)


class TargetSchema(Shape):
    target = text(required=True)
    deployed = text(nullable=True, required=True)
    versions = whole(required=True)


class DeploymentSchema(Shape):
    target = text(required=True)
    version = text(required=True)
    action = text(required=True)
    actor = text(nullable=True, required=True)
    reason = text(nullable=True)
    created = when(required=True)
    previous = text("The version serving before this move.", nullable=True)
    rolls_back_to = text("What a rollback right after this move deploys.", nullable=True)


class ScheduleSchema(Shape):
    target = text(required=True)
    every_hours = number(required=True)
    enabled = flag(required=True)
    last_run = when()
    last_job_id = text(nullable=True)
    last_outcome = text(nullable=True)


class DeletedSchema(Shape):
    deleted = text(required=True)


class StylesReadySchema(Shape):
    networks_ready = flag(
        "The fast networks are converted and deployed (first start: minutes).", required=True
    )
    thumbnails_ready = fields.List(fields.Integer(), required=True)
    thumbnails_total = whole(required=True)
    ready = flag("Networks and every thumbnail are ready.", required=True)


class ImportedFileSchema(Shape):
    name = text(required=True)
    label = text(required=True)
    status = fields.String(
        validate=validate.OneOf(["added", "duplicate", "skipped"]), required=True
    )
    reason = text()


class ImportReportSchema(Shape):
    task = text(required=True)
    added = whole(required=True)
    duplicates = whole("Pictures the task had already.", required=True)
    skipped = whole("Pictures refused; `files` says why.", required=True)
    files = fields.List(fields.Nested(ImportedFileSchema), required=True)


class TaskRequestSchema(RequestShape):
    name = domain(
        "string",
        required="'name' must be lowercase letters, digits, '_' or '-', starting with a letter.",
        pattern=NAME_PATTERN,
        example="gender",
    )
    labels = domain(
        "array",
        required="'labels' must be a list of at least 2 distinct lowercase names, "
        "e.g. ['cat', 'dog'].",
        items={"type": "string", "pattern": NAME_PATTERN, "example": "gender"},
        minItems=2,
        uniqueItems=True,
    )
    description = domain("string", maxLength=255)
    face_crop = domain("boolean")
    features = domain(
        "string",
        "What the task's model reads: 'face' (default), a head on pretrained face networks' "
        "features from the aligned face; 'photo', a head on VGG16 features of the whole "
        "(face-cropped) photo.",
        enum=["face", "photo"],
    )


class TaskUpdateSchema(RequestShape):
    enabled = StrictBoolean(
        required=True,
        error_messages={"required": "must be true or false."} | says("must be true or false."),
        **_meta("false switches the task off: it leaves GET /api/tasks."),
    )


class RetrainRequestSchema(RequestShape):
    class Meta:
        unknown = ma.INCLUDE
        description = "Name a task or a style model."

    task = domain("string")
    style = domain("string")


class RejectVoterRequestSchema(RequestShape):
    client = domain(
        "string",
        "The id the review queue shows as `client` or `voter`.",
        required="'client' must be the 8-character id the review queue shows (client or voter).",
        minLength=8,
        maxLength=64,
        pattern="^[A-Za-z0-9]+$",
    )
    scope = domain("string", enum=["voter", "address"], default="voter")
    task = domain("string", "Only this task's labels.")


class RejectVotersRequestSchema(RequestShape):
    task = domain("string", required="'task' must be the task's name.")
    voters = domain("array", items={"type": "string", "minLength": 8, "maxLength": 64})
    crowd = domain("string", "A crowd's name from a retrain warning, or all.")
    since = domain("string", format="date-time")
    until = domain("string", format="date-time")


class ReviewRequestSchema(RequestShape):
    verdict = domain(
        "string",
        required="'verdict' must be 'verified' or 'rejected'.",
        enum=["verified", "rejected"],
    )
    label = domain("string", "A corrected label (default: the user's).")


class ScheduleRequestSchema(RequestShape):
    every_hours = domain(
        "number",
        required="'every_hours' must be a number of hours from 0.05 to 2160.",
        minimum=0.05,
        maximum=2160,
    )
    enabled = domain("boolean")


class ImportUploadSchema(RequestShape):
    """Which of the two was sent, and the label's and pictures' checks, are the import's to say."""

    archive = Upload()
    label = domain("string")
    files = fields.List(Upload())


def at_most() -> fields.Integer:
    return query_number(1, 500, 50, "At most this many.")


class JobsQuery(ma.Schema):
    limit = at_most()
    kind = query_text("Only jobs of this kind (retrain, stylize).")


class ReviewQueueQuery(ma.Schema):
    review = query_text(choices=REVIEWS, default="pending")
    order = query_text(
        "oldest first, or the labels that would teach the model most first.",
        choices=ORDERS,
        default="oldest",
    )
    limit = at_most()
    task = query_text("Only this task.")


class OverviewQuery(ma.Schema):
    days = query_number(1, 3650, 30, "Feedback of the last N days.")


class AuditQuery(ma.Schema):
    action = query_text("Only this action.")


class DeploymentsQuery(ma.Schema):
    target = query_text("Only this target.")


# ---------------------------------------------------------------- operations


class HealthSchema(Shape):
    status = fields.String(validate=validate.OneOf(["ok", "degraded"]), required=True)
    database = text(required=True)
    storage = text(required=True)
    queue = text(required=True)


# Every named shape, registered under its name even where no route points at it yet.
SCHEMAS: list[type[ma.Schema]] = [
    cls
    for cls in list(globals().values())
    if isinstance(cls, type)
    and issubclass(cls, ma.Schema)
    and cls.__name__.endswith("Schema")
    and cls.__module__ == __name__
]


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
