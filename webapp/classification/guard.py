"""Second opinions on a classifier retrain's verdict, from what the votes say (issues 20, 27).

- When user labels contradict the trusted ones, that (and the voters behind it) is the warning,
  not a "threshold problem" blaming the model.
- Without trusted labels the holdout is user feedback too, so a candidate that reverses the
  deployed model's answers (or disagrees with it far more than past retrains did) passes any test
  on it: it is registered but waits for an admin's decision, with the likely cause named.
"""

from __future__ import annotations

from collections import Counter

from webapp.classification import voters
from webapp.extensions import db
from webapp.tables import Classification, Deployment, Feedback, ModelVersion, Task

REVERSAL = 0.5  # agreeing with the deployed model on fewer holdout images than this is a reversal
DRIFT = 0.3  # or this much more disagreement than the deployed version's own retrain showed
# or the deployed model scoring this much lower on the holdout than on its own (a shipped model
# meeting users' photos may lose some; losing half is labels turned around)
OWN_DROP = 0.5
ANCHOR_DRIFT = 0.15  # more disagreement with the anchor than any version promoted since, by this
NEW_VOTERS_MIN = 5  # labels of voters with no record against the model before they are a cause
# an admin confirmed these versions: by hand, by rolling back to them, or by shipping them
CONFIRMED = ("promote", "rollback", "bootstrap")


def anchor(target: str) -> ModelVersion | None:
    """The version a candidate must not drift from: the last one an admin confirmed or trusted
    labels supported; else the first version ever deployed."""
    rows = db.session.scalars(
        db.select(Deployment).where(Deployment.target == target).order_by(Deployment.id.desc())
    ).all()
    for row in rows:
        gate = (row.model_version.metrics or {}).get("gate") or {}
        if row.action in CONFIRMED or gate.get("holdout_trusted"):
            return row.model_version
    return rows[-1].model_version if rows else None


def _since_anchor(target: str, anchor_mv: ModelVersion) -> list[ModelVersion]:
    """Versions deployed after the anchor was last deployed."""
    rows = db.session.scalars(
        db.select(Deployment).where(Deployment.target == target).order_by(Deployment.id)
    ).all()
    last = max((i for i, r in enumerate(rows) if r.model_version_id == anchor_mv.id), default=-1)
    return [r.model_version for r in rows[last + 1 :] if r.model_version_id != anchor_mv.id]


def contradicting_voters(task: Task, limit: int = 5) -> list[dict]:
    """Voters whose labels most often contradict what the deployed model answered, worst first."""
    rows = db.session.execute(
        db.select(Feedback.client, Classification.owner, Feedback.agrees)
        .join(Classification, Classification.id == Feedback.classification_id)
        .where(Feedback.task_id == task.id, Feedback.review != "rejected")
    ).all()
    names = voters.voter_names([(client, owner) for client, owner, _ in rows])
    against, total = Counter(), Counter()
    for client, owner, agrees in rows:
        voter = names[(client, owner)]
        total[voter] += 1
        against[voter] += agrees is False
    ranked = [v for v, n in against.most_common() if n][:limit]
    return [{"voter": v[:8], "against_model": against[v], "of": total[v]} for v in ranked]


def _who(entries: list[dict], key: str) -> str:
    return ", ".join(f"{e['voter']} ({e[key]} of {e['of']})" for e in entries) or "none found"


def _drift_from_anchor(task: Task, test: dict) -> str | None:
    """Why the candidate answers unlike the anchor more than honest retrains did, or None."""
    agreement, name = test.get("agreement_with_anchor"), test.get("anchor")
    anchor_mv = anchor(task.name)
    if agreement is None or anchor_mv is None or anchor_mv.version != name:
        return None
    past = [
        ((mv.metrics or {}).get("gate") or {}).get("agreement_with_anchor")
        for mv in _since_anchor(task.name, anchor_mv)
    ]
    past = [p for p in past if p is not None]
    # a better model may fix the anchor's own errors, and honest retrains since moved this much
    own = (anchor_mv.metrics or {}).get(task.metric)
    errors = 1 - own if own is not None else 0.0
    moved = 1 - min(past, default=1.0)
    if 1 - agreement <= errors + moved + ANCHOR_DRIFT:
        return None
    return (
        f"the candidate answers unlike {name} (the last version an admin confirmed, or the first) on "
        f"{1 - agreement:.0%} of the holdout images, while {name} was wrong on {errors:.0%} of its "
        f"own holdout and the versions promoted since differed from it by at most {moved:.0%}"
    )


def _below_baseline(test: dict) -> str | None:
    accuracy, baseline = test.get("candidate_accuracy"), test.get("majority_accuracy")
    if accuracy is None or baseline is None or accuracy >= baseline:
        return None
    return (
        f"the candidate's holdout accuracy {accuracy:.3f} is below the {baseline:.3f} of always answering "
        "the holdout's commonest label"
    )


def _new_voters(current: ModelVersion, metric: str, weights: dict | None) -> str | None:
    """Why the labels of voters with no record look turned, or None."""
    if not weights:
        return None
    against, answered = weights["unproven_against_model"], weights["unproven_answered"]
    own = (current.metrics or {}).get(metric)
    expected = 1 - own if own is not None else 0.0
    if against < NEW_VOTERS_MIN or against <= (expected + DRIFT) * answered:
        return None
    return (
        f"{against} of the {answered} labels from {weights['unproven_voters']} voters with no "
        f"verified record contradict the deployed model's answers ({against / answered:.0%}, "
        f"while it was wrong on {expected:.0%} of its own holdout)"
    )


def _cause(task: Task, current: ModelVersion, weights: dict | None) -> str:
    """The likely cause in words: new voters and their share of the data, and who contradicts."""
    text = ""
    if weights and weights["unproven"]:
        total = weights["proven"] + weights["unproven"]
        crowds = weights["crowds"]
        crowd_text = (
            f"; {sum(crowds.values())} of them are new addresses that each labelled one or two new "
            f"images in a burst, counted as {len(crowds)} crowd{'s' if len(crowds) > 1 else ''} "
            f"({', '.join(crowds)})"
            if crowds
            else ""
        )
        text = (
            f"new voters: {weights['unproven_voters']} voters with no verified record gave "
            f"{weights['unproven']} of the {total} labels outside the holdout "
            f"({weights['unproven'] / total:.0%}); "
            f"{weights['unproven_kept']} of them were used (at most "
            f"{weights['share_limit']:.0%} of the training data){crowd_text}. "
        )
    if weights and weights["crowds"]:
        return f"Likely cause: {text}"
    return (
        f"Likely cause: {text}user labels flipped by coordinated or mistaken voters (voter: labels "
        f"contradicting the deployed model's answers: "
        f"{_who(contradicting_voters(task), 'against_model')})."
    )


def second_opinion(
    task: Task,
    current: ModelVersion | None,
    holdout_info: dict,
    test: dict,
    compared: dict,
    passed: bool,
    reason: str,
    warnings: list[str],
    *,
    weights: dict | None = None,
) -> tuple[bool, str, list[str], bool]:
    """(passed, reason, warnings, held_for_admin) after looking at the labels behind the verdict;
    `weights`: what `shares.bound` kept of the voters with no record."""
    warnings = list(warnings)
    label_warning = voters.conflict_warning(voters.conflicts(task))
    if label_warning:
        warnings = [w for w in warnings if not w.startswith("threshold problem")] + [label_warning]
        if not passed:
            reason += (
                "; the holdout's trusted labels contradict the user labels it was trained on "
                "(see warnings: reject the voters named there, then retrain)"
            )
    if not passed or current is None:
        return passed, reason, warnings, False
    untrusted = not holdout_info.get("trusted")
    found = [
        _against_deployed(task, current, test, compared) if untrusted else None,
        _drift_from_anchor(task, test) if untrusted else None,
        _below_baseline(test),
        _new_voters(current, task.metric, weights),
    ]
    found = [f for f in found if f]
    if not found:
        return passed, reason, warnings, False
    context = "(with no trusted labels the holdout is user feedback too) " if untrusted else ""
    warning = (
        f"held for an admin: {context}{'; and '.join(found)}. "
        f"{_cause(task, current, weights)} "
        "Verify a sample of labels in the review queue (/admin/review) or reject those voters' "
        "labels in one call (POST /api/admin/feedback/reject-voters); promote this version by "
        "hand only if its labels are right."
    )
    return False, f"not promoted automatically: {warning}", warnings + [warning], True


def _against_deployed(task: Task, current: ModelVersion, test: dict, compared: dict) -> str | None:
    """Why the candidate answers unlike the deployed model beyond past retrains, or None."""
    agreement = test.get("agreement_with_deployed")
    if agreement is None:
        return None
    past = ((current.metrics or {}).get("gate") or {}).get("agreement_with_deployed")
    own = (current.metrics or {}).get(task.metric)
    now = compared.get(task.metric)
    reversed_answers = agreement < REVERSAL
    drifted = (past is not None and (1 - agreement) > (1 - past) + DRIFT) or (
        own is not None and now is not None and now < own - OWN_DROP
    )
    if not (reversed_answers or drifted):
        return None
    what = (
        "the candidate reverses the deployed model's answers"
        if reversed_answers
        else "the candidate disagrees with the deployed model far more than past retrains did"
    )
    past_text = f" (the last retrain: {past:.0%})" if past is not None else ""
    own_text = (
        f"; {current.version} scored {own:.3f} on its own holdout and {now:.3f} on this one"
        if own is not None and now is not None
        else ""
    )
    return (
        f"{what}: it agrees with {current.version} on {agreement:.0%} of the holdout "
        f"images{past_text}{own_text}"
    )
