"""Admin API for reviewing users' labels: the queue, verify or reject one, reject a voter's or
many voters' labels, and the uploaded image under review.

Named for the resource it serves, as each admin module is: `classification/review.py`'s review queue.
"""

from __future__ import annotations

from flask import Response, jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import (
    FeedbackItemSchema,
    RejectVoterRequestSchema,
    RejectVoterResultSchema,
    RejectVotersRequestSchema,
    RejectVotersResultSchema,
    ReviewQueueQuery,
    ReviewRequestSchema,
)
from webapp.apidocs.spec import BINARY
from webapp.auth.access import admin_required, current_admin
from webapp.classification import bulk, faces, review
from webapp.tables import Feedback, Image
from webapp.tables.columns import iso
from webapp.web.requests import get_or_404


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
@bp.doc(summary="The review queue")
@bp.arguments(ReviewQueueQuery, location="query")
@bp.response(200, FeedbackItemSchema(many=True), description="Feedback in the order asked for.")
def feedback_queue(query: dict):
    """The review queue: feedback by review state (default pending), oldest first or most
    informative first."""
    rows, scores = review.queue(query["review"], query["order"], query["limit"], query.get("task"))
    who = review.voter_of(rows)
    return jsonify(
        [{**_describe_feedback(fb, who[fb.id]), "informativeness": scores[fb.id]} for fb in rows]
    )


@bp.post("/api/admin/feedback/<int:feedback_id>/review")
@admin_required
@bp.doc(summary="Verify or reject a user's label")
@bp.arguments(ReviewRequestSchema)
@bp.response(200, FeedbackItemSchema, description="The reviewed feedback.")
def review_feedback(body: dict, feedback_id: int):
    """Verify (optionally correcting the label) or reject a user's label."""
    fb = get_or_404(Feedback, feedback_id, "feedback")
    review.judge(fb, body.get("verdict"), body.get("label", fb.label), current_admin().username)
    return jsonify(_describe_feedback(fb, review.voter_of([fb])[fb.id]))


@bp.post("/api/admin/feedback/reject-voter")
@admin_required
@bp.doc(
    summary="Reject all pending labels of a voter or an address",
    description="`client` is the id the review queue shows as `client` (an address) or `voter` "
    "(every address and uploader cookie linked to it), at least 8 characters. With `scope` "
    "`voter` (the default) the labels of every linked address and cookie are rejected, with "
    "`address` only that address's. `task` limits it to one task.",
)
@bp.arguments(RejectVoterRequestSchema)
@bp.response(200, RejectVoterResultSchema, description="How many labels were rejected.")
def reject_voter(body: dict):
    """Reject every pending label of one voter (or only of one address) in one action, audited."""
    scope = body.get("scope", "voter")
    rows = review.reject_voter(
        body.get("client"), scope, body.get("task"), current_admin().username
    )
    return jsonify({"rejected": len(rows), "scope": scope, "addresses": review.addresses_of(rows)})


@bp.post("/api/admin/feedback/reject-voters")
@admin_required
@bp.doc(
    summary="Reject the pending labels of many voters at once",
    description="Name the voters one way: `voters`, a list of ids the review queue shows (`voter` "
    "or `client`); `crowd`, a crowd a retrain's warning named (or `all` of the task's crowds: "
    "bursts of new addresses each labelling one or two new images); or `since` / `until` "
    "(ISO 8601), every voter whose first label of the task falls in that window.",
)
@bp.arguments(RejectVotersRequestSchema)
@bp.response(
    200, RejectVotersResultSchema, description="How many labels of how many voters were rejected."
)
def reject_voters(body: dict):
    """Reject every pending label of many voters of one task in one call, audited."""
    return jsonify(bulk.reject_voters(body, current_admin().username))


@bp.get("/api/admin/images/<int:image_id>")
@admin_required
@bp.doc(summary="An uploaded image")
@bp.response(200, BINARY, content_type="image/*", description="The image.")
def image(image_id: int):
    """An uploaded image, for reviewing."""
    row = get_or_404(Image, image_id, "image")
    return Response(review.picture(row), mimetype=row.mimetype)
