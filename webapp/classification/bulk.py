"""Rejecting the pending labels of many voters of a task in one call, audited.

An admin picks the voters three ways: a selection of the ids the review queue shows (`voter` or
`client`), a crowd the retrain's warning named (a burst of new addresses on new images, or
"all" of the task's crowds), or a time window (every voter whose first label of the task falls
in it: the addresses that appeared during an attack).
"""

from __future__ import annotations

import datetime as dt
import re

from webapp import retention
from webapp.classification import tasks, voters
from webapp.exceptions import Invalid
from webapp.extensions import db
from webapp.tables import Classification, Feedback, Task, utcnow

MAX_SELECTION = 5000
ID = re.compile(r"[0-9A-Za-z]{8,64}")


def _when(body: dict, key: str) -> dt.datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"'{key}' must be an ISO 8601 time. Received: {key}={value!r:.40}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _rows(task: Task) -> list[tuple[Feedback, str]]:
    """Every label of the task with its voter."""
    names = voters.task_voters(task.id)
    rows = db.session.execute(
        db.select(Feedback, Classification.owner)
        .join(Classification, Classification.id == Feedback.classification_id)
        .where(Feedback.task_id == task.id)
        .order_by(Feedback.id)
    ).all()
    return [(fb, names[(fb.client, owner)]) for fb, owner in rows]


def _by_ids(rows: list[tuple[Feedback, str]], ids: object) -> set[str]:
    if not isinstance(ids, list) or not ids or len(ids) > MAX_SELECTION:
        raise Invalid(f"'voters' must be a list of 1 to {MAX_SELECTION} ids from the review queue.")
    if not all(isinstance(i, str) and ID.fullmatch(i) for i in ids):
        raise Invalid("Each of 'voters' must be an id the review queue shows (8 or more letters).")
    wanted = tuple(i.lower() for i in ids)
    return {voter for fb, voter in rows if voter.startswith(wanted) or fb.client.startswith(wanted)}


def _by_crowd(task: Task, crowd: object) -> set[str]:
    found = voters.decide(task).crowds
    if crowd != "all" and crowd not in found:
        raise Invalid(
            f"'crowd' must be 'all' or one of {sorted(found)}. Received: crowd={crowd!r:.40}"
        )
    return {v for name, members in found.items() if crowd in ("all", name) for v in members}


def _by_window(rows: list[tuple[Feedback, str]], since, until) -> set[str]:
    first: dict[str, dt.datetime] = {}
    for fb, voter in rows:
        when = voters._aware(fb.created)
        first[voter] = min(first.get(voter, when), when)
    return {
        v
        for v, when in first.items()
        if (since is None or when >= since) and (until is None or when < until)
    }


def choose(task: Task, body: dict) -> tuple[set[str], list[tuple[Feedback, str]], str]:
    """The voters the request names, the task's labels with their voters, and the selection in words."""
    rows = _rows(task)
    if "voters" in body:
        return _by_ids(rows, body["voters"]), rows, f"{len(body['voters'])} ids"
    if "crowd" in body:
        return _by_crowd(task, body["crowd"]), rows, f"crowd {body['crowd']}"
    since, until = _when(body, "since"), _when(body, "until")
    if since is None and until is None:
        raise Invalid("Name the voters: 'voters' (a list of ids), 'crowd', or 'since' / 'until'.")
    return _by_window(rows, since, until), rows, f"first label in [{since}, {until})"


def reject_voters(body: dict, actor: str) -> dict:
    """Reject every pending label of the chosen voters of one task; audited and committed."""
    name = body.get("task")
    if not isinstance(name, str):
        raise Invalid("'task' must be the task's name.")
    task = tasks.named(name, f"No task named {name[:80]!r}.")
    chosen, rows, selection = choose(task, body)
    now, rejected = utcnow(), [fb for fb, v in rows if v in chosen and fb.review == "pending"]
    for fb in rejected:
        fb.review, fb.reviewed_by, fb.reviewed_at = "rejected", actor, now
    addresses = sorted({fb.client[:8] for fb in rejected})
    retention.audit(
        "reject_voters",
        actor,
        f"task:{task.name}",
        selection=selection,
        voters=len(chosen),
        rejected=len(rejected),
        addresses=len(addresses),
    )
    db.session.commit()
    return {"rejected": len(rejected), "voters": len(chosen), "addresses": addresses}
