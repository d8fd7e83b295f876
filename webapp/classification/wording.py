"""The gate's verdict and the reliability line in plain words, for the admin console.

First what happened and what to do next, with the number of labels likely needed; the
statistics (the paired test, the calibration numbers) stay in the result for one click more.
How many labels: if the candidate kept the share of holdout images it alone gets right (and the
compared one alone gets right), the smallest holdout on which the exact McNemar test would call
the gain significant, and the labels it takes to grow the holdout that much (a fifth of new
labels join it; verified labels join it directly).
"""

from __future__ import annotations

import math

from ml.common.stats import ALPHA, binomial_tail
from webapp.classification import datasets

MAX_HOLDOUT = 100_000


def holdout_needed(n: int, only_candidate: int, only_compared: int) -> int | None:
    """The smallest holdout on which the observed shares of discordant images reach p < ALPHA."""
    if n <= 0 or only_candidate <= only_compared:
        return None
    size = n
    while size <= MAX_HOLDOUT:
        b = math.floor(only_candidate * size / n)
        c = math.ceil(only_compared * size / n)
        if binomial_tail(b, b + c) < ALPHA:
            return size
        size = max(size + 1, math.ceil(size * 1.05))
    return None


def labels_to_add(test: dict) -> dict | None:
    """More holdout images needed for the observed gain to be significant, and labels that means."""
    size = holdout_needed(
        test.get("n", 0), test.get("candidate_only_right", 0), test.get("compared_only_right", 0)
    )
    if size is None:
        return None
    more = size - test["n"]
    return {"holdout": more, "labels": math.ceil(more / datasets.HOLDOUT_SHARE)}


def verdict(result: dict) -> dict:
    """{"headline", "next", "labels_needed"}: the retrain's outcome in words an admin acts on."""
    version, test = result.get("model_version"), result.get("gate") or {}
    before = (result.get("compared_with") or {}).get("model_version")
    if result.get("promoted"):
        return {
            "headline": f"{version} is now serving: it did at least as well as "
            f"{before or 'always answering the commonest label'} on the held-out photos.",
            "next": "Nothing to do. Keep labelling; the next retrain learns from the new labels.",
            "labels_needed": None,
        }
    if result.get("held_for_admin"):
        return {
            "headline": f"{version} is waiting for you: it passed the statistical test, but it "
            "drifted from the versions you trusted or the labels behind it look suspicious (the "
            "warning says which, and who).",
            "next": "Check a sample of recent labels in the review queue, or reject the voters the "
            f"warning names, then retrain. Promote {version} by hand only if its labels are right.",
            "labels_needed": None,
        }
    if test and (test.get("p_value", 1) < ALPHA) == (before is None):  # passed, then refused
        return {
            "headline": f"{version} passed the test but could not be deployed: {result.get('reason')}",
            "next": "The version that was serving keeps serving; retrain to try again.",
            "labels_needed": None,
        }
    if before is None:
        more = labels_to_add(test)
        if more is None:
            return {
                "headline": f"{version} was not deployed: it is not yet better than always giving "
                "the most common answer.",
                "next": "Label more photos (the likely number is on the dashboard), then retrain.",
                "labels_needed": None,
            }
        return {
            "headline": f"{version} was not deployed: it looks good on the {test.get('n')} held-out "
            "photos, but that is too few to be sure it beats always giving the most common answer.",
            "next": f"Label about {more['labels']} more photos (about {more['holdout']} of them are "
            f"held out to test it), or verify {more['holdout']} labels in the review queue, then "
            f"retrain. You can also promote {version} by hand now if you trust it.",
            "labels_needed": more["labels"],
        }
    return {
        "headline": f"{version} was not deployed: it did clearly worse than {before} on the same "
        f"held-out photos, so {before} keeps serving.",
        "next": "Look for wrong labels in the review queue (most informative first), then retrain.",
        "labels_needed": None,
    }


def reliability(calibration: dict | None) -> str | None:
    """How far to trust the percentages the model shows, in one sentence."""
    if not calibration:
        return None
    off = round(100 * calibration["ece_after"])
    above = round(100 * calibration["share_above_99_after"])
    quality = "about right" if off <= 5 else "rough" if off <= 15 else "not to be trusted yet"
    adjusted = (
        "no adjustment was needed"
        if abs(calibration["temperature"] - 1) < 0.01
        else "they were adjusted to match how often it is right"
    )
    return (
        f"Its percentages are {quality}: on {calibration['n']} held-out photos they are off by about "
        f"{off} points on average ({adjusted}); {above} % of its answers claim more than 99 %."
        + (" More verified labels make this estimate firmer." if calibration["n"] < 50 else "")
    )
