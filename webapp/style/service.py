"""Stylization requests: validated, queued as jobs, their results served and rated.

The style domain's request service; `webapp.classification.service` plays the same role for
classifications.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app
from sqlalchemy import false, text, update
from sqlalchemy.exc import IntegrityError

from ml.style import methods as ml_methods
from webapp.exceptions import Conflict, Invalid, NotFound, NotReady, TooMany, Unavailable
from webapp.extensions import db
from webapp.jobs.runner import create_job, enqueue, request_cancel
from webapp.registry import versions as registry
from webapp.storage.store import saving, storage, store_image
from webapp.style import builtin as style_builtin
from webapp.style.offers import (
    add_defaults_and_waits,
    check_strength,
    method_of,
    method_params,
    offers,
)
from webapp.style.prefs import learned_strength
from webapp.tables import Rating, Stylization, utcnow
from webapp.uploads import ValidImage

STYLIZE_JOB = "stylize"  # the job type of a stylization (registered by webapp.wiring)
QUEUE_CAP_HOURS = 6
DEFAULT_METHOD = "arbitrary"  # POST /api/stylize without `method` (CONTRACT.md)


def list_methods() -> list[dict]:
    """Every style method a user can pick now, with its default strength and expected waits."""
    return add_defaults_and_waits(offers())


def _number(value, name: str, cast, low, high, default):
    if value in (None, ""):
        return default
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise Invalid(
            f"'{name}' must be a number from {low} to {high}. Received: {value!r}"
        ) from None
    if not low <= number <= high:
        raise Invalid(f"'{name}' must be from {low} to {high}. Received: {value!r}")
    return number


def parse_params(form) -> tuple[dict, dict]:
    """The offer and parameters of a stylize request, or a 400 naming the problem. `strength` is
    checked here, once (the one rule, ml.style.strength.check), and defaults to the learned or the
    method's own."""
    name = form.get("method") or DEFAULT_METHOD
    by_name = {o["method"]: o for o in offers()}  # no catalogue-wide defaults: one method is used
    if name not in by_name:
        raise Invalid(
            f"Unknown method {name!r}; choose one of {sorted(by_name)} (GET /api/styles)."
        )
    offer = by_name[name]
    cap = current_app.config["MAX_STYLE_SIZE"]
    size = _number(form.get("size"), "size", int, 64, 100_000, min(512, cap))
    extra = method_params(offer, form)
    strength = form.get("strength")
    if strength in (None, ""):
        own = method_of(offer).default_strength(extra.get("preset"))
        strength = learned_strength(name, own)["strength"]
    else:
        strength = check_strength(strength)
    return offer, {"strength": strength, "size": min(size, cap), **extra}


def hold_client_lock(client: str) -> None:
    """Until this transaction ends, make every other transaction of `client` that calls this
    wait: the count and the insert of `check_queue_cap` + `create` are then one step, so
    parallel posts from one address cannot all pass the cap. PostgreSQL: an advisory lock per
    client; SQLite: a write (matching no row) takes the database's write lock at once."""
    if db.session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"queue-cap|{client}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        db.session.execute(update(Stylization).where(false()).values(client=Stylization.client))


def check_queue_cap(client: str) -> None:
    """429 when this client address already has MAX_QUEUED_PER_CLIENT pictures waiting or running
    (called again under `hold_client_lock` when the job is created)."""
    cap = current_app.config["MAX_QUEUED_PER_CLIENT"]
    since = utcnow() - dt.timedelta(
        hours=QUEUE_CAP_HOURS
    )  # a job stuck longer than that blocks nobody
    waiting = db.session.scalar(
        db.select(db.func.count(Stylization.id)).where(
            Stylization.client == client,
            Stylization.status.in_(("queued", "running")),
            Stylization.created >= since,
        )
    )
    if waiting >= cap:
        raise TooMany(
            f"You already have {waiting} pictures waiting or in progress (at most {cap}); "
            "wait for one to finish.",
            15,
        )


def create(
    method: dict,
    params: dict,
    content: ValidImage,
    style: ValidImage | None,
    client: str,
    owner: str | None = None,
) -> Stylization:
    """Store the inputs and a queued stylization job; hand the job to the queue."""
    if method["needs_style_image"] and style is None:
        raise Invalid(
            f"Method {method['method']!r} needs a style image: send it in the form field 'style'."
        )
    mv = registry.deployed(method["method"]) if method["model_version"] else None
    with saving() as new_keys:
        content_row = store_image(content, new_keys)
        style_row = (
            store_image(style, new_keys)
            if style is not None and method["needs_style_image"]
            else None
        )
        hold_client_lock(client)
        check_queue_cap(client)
        job = create_job(STYLIZE_JOB, target=method["method"])  # its parameters: the row's
        row = Stylization(
            content_image=content_row,
            style_image=style_row,
            method=method["method"],
            model_version_id=mv.id if mv else None,
            params=params,
            job=job,
            client=client,
            owner=owner,
        )
        db.session.add(row)
    try:
        enqueue(job)
    except Exception as exc:
        current_app.logger.error("could not enqueue job %s: %s", job.id, exc)
        job.status, job.finished = "failed", utcnow()
        job.error = "The job queue is unavailable; try again shortly."
        db.session.commit()
        raise Unavailable("The job queue is unavailable right now; try again shortly.") from None
    return row


def cancel(row: Stylization) -> None:
    """Stop a queued or running stylization: its job ends failed, "Cancelled." (a running one when
    the worker next checks)."""
    if row.status in ("done", "failed"):
        raise Conflict(f"This stylization has already ended ({row.status}).")
    request_cancel(row.job)
    db.session.commit()


def rate(row: Stylization, body: dict, client: str) -> Rating:
    """Store 1-5 stars and an optional comment on a finished stylization."""
    stars, comment = body.get("stars"), body.get("comment") or ""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise Invalid(f"'stars' must be a whole number from 1 to 5. Received: {stars!r}")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise Invalid("'comment' must be text of at most 2000 characters.")
    if row.status != "done":
        raise Conflict("This picture is not finished yet; rate it once it is done.")
    rating = db.session.scalar(
        db.select(Rating).where(Rating.stylization_id == row.id, Rating.client == client)
    )
    try:
        with saving():  # one rating per client address: a second one replaces the first
            if rating is None:
                rating = Rating(stylization_id=row.id, client=client)
                db.session.add(rating)
            rating.stars, rating.comment = stars, comment.strip()
    except IntegrityError:  # the same client rated twice at the same moment
        raise Conflict("Your rating crossed another one from you; send it again.") from None
    return rating


def client_rating(stylization_id: int, client: str) -> Rating | None:
    """This client's rating of a stylization, so a revisited page shows its stars."""
    return db.session.scalar(
        db.select(Rating).where(Rating.stylization_id == stylization_id, Rating.client == client)
    )


def result_picture(row: Stylization) -> bytes:
    """The finished picture (PNG); NotFound until the stylization is done."""
    if row.status != "done" or not row.result_key:
        raise NotFound(f"This stylization is {row.status}; the result exists once it is done.")
    return storage().get(row.result_key)


def input_picture(row: Stylization, which: str) -> tuple[bytes, str]:
    """The `content` or `style` picture a stylization was made from, and its MIME type."""
    image = row.content_image if which == "content" else row.style_image
    if image is None:
        raise NotFound(f"This stylization has no {which} image.")
    return storage().get(image.storage_key), image.mimetype


def preset_thumbnail(preset_id: int) -> bytes:
    """A preset style's thumbnail (JPEG), rendered once by the style worker: NotFound for a preset
    the deployed network does not have, NotReady while the worker has not rendered it yet."""
    method = ml_methods.PRESET  # the network whose presets the thumbnails show
    mv = registry.deployed(method.name)
    if mv is None or preset_id not in style_builtin.preset_ids(mv, method):
        raise NotFound(f"No preset style {preset_id} (yet): GET /api/styles lists them.")
    try:
        return storage().get(style_builtin.thumbnail_key(mv, preset_id))
    except KeyError:
        raise NotReady(
            "This thumbnail is being rendered by the style worker; try again in a moment.",
            retry_after=2,
        ) from None
