"""Second opinions on a classifier retrain's verdict, from what the votes say (issue 20).

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
from webapp.tables import Classification, Feedback, ModelVersion, Task

REVERSAL = 0.5  # agreeing with the deployed model on fewer holdout images than this is a reversal
DRIFT = 0.3  # or this much more disagreement than the deployed version's own retrain showed
# or the deployed model scoring this much lower on the holdout than on its own (a shipped model
# meeting users' photos may lose some; losing half is labels turned around)
OWN_DROP = 0.5


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


def second_opinion(
    task: Task,
    current: ModelVersion | None,
    holdout_info: dict,
    test: dict,
    compared: dict,
    passed: bool,
    reason: str,
    warnings: list[str],
) -> tuple[bool, str, list[str], bool]:
    """(passed, reason, warnings, held_for_admin) after looking at the labels behind the verdict."""
    warnings = list(warnings)
    label_warning = voters.conflict_warning(voters.conflicts(task))
    if label_warning:
        warnings = [w for w in warnings if not w.startswith("threshold problem")] + [label_warning]
        if not passed:
            reason += (
                "; the holdout's trusted labels contradict the user labels it was trained on "
                "(see warnings: reject the voters named there, then retrain)"
            )
    agreement = test.get("agreement_with_deployed")
    if not passed or current is None or agreement is None or holdout_info.get("trusted"):
        return passed, reason, warnings, False
    past = ((current.metrics or {}).get("gate") or {}).get("agreement_with_deployed")
    own = (current.metrics or {}).get(task.metric)
    now = compared.get(task.metric)
    reversed_answers = agreement < REVERSAL
    drifted = (past is not None and (1 - agreement) > (1 - past) + DRIFT) or (
        own is not None and now is not None and now < own - OWN_DROP
    )
    if not (reversed_answers or drifted):
        return passed, reason, warnings, False
    what = (
        "reverses the deployed model's answers"
        if reversed_answers
        else "disagrees with the deployed model far more than past retrains did"
    )
    past_text = f" (the last retrain: {past:.0%})" if past is not None else ""
    own_text = (
        f"; {current.version} scored {own:.3f} on its own holdout and {now:.3f} on this one"
        if own is not None and now is not None
        else ""
    )
    warning = (
        f"held for an admin: with no trusted labels the holdout is user feedback too, and this "
        f"candidate {what}: it agrees with {current.version} on {agreement:.0%} of the holdout "
        f"images{past_text}{own_text}. Likely cause: user labels flipped by coordinated or mistaken "
        f"voters (voter: labels contradicting {current.version}'s answers: "
        f"{_who(contradicting_voters(task), 'against_model')}). Verify a sample of labels in the "
        f"review queue (/admin/review) or reject those voters' labels; promote this version by "
        "hand only if its labels are right."
    )
    return False, f"not promoted automatically: {warning}", warnings + [warning], True
