"""What the ratings say: the star distribution per style method and the strength people like best.

A rater is every client address (IPv6: its /64) and uploader cookie linked through the ratings
(`classification.voters`). Each rater counts once per strength bin (the mean of its ratings
there); a bin's score is the median of its raters' means, pulled towards the overall median;
nothing is learned before MIN_CLIENTS different raters have rated, and the default moves only to
a bin at least MIN_BIN_CLIENTS raters chose: five addresses cannot set everyone's default.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable

from webapp.classification.voters import voter_names
from webapp.extensions import db
from webapp.tables import Rating, Stylization

BINS = 5
MIN_CLIENTS = 10
MIN_BIN_CLIENTS = 6
PRIOR_WEIGHT = 2.0
RECENT = 2000


def _rated(method: str | None = None) -> list[tuple[str, float, int, str]]:
    """(method, strength, stars, client) of the most recent ratings."""
    query = (
        db.select(
            Stylization.method, Stylization.params, Rating.stars, Rating.client, Stylization.owner
        )
        .join(Stylization, Stylization.id == Rating.stylization_id)
        .order_by(Rating.id.desc())
        .limit(RECENT)
    )
    if method:
        query = query.where(Stylization.method == method)
    rows = db.session.execute(query).all()
    rater = voter_names([(c, o) for _, _, _, c, o in rows])
    return [(m, _strength(p), s, rater[(c, o)]) for m, p, s, c, o in rows]


def _strength(params) -> float:
    try:
        return min(1.0, max(0.0, float((params or {}).get("strength", 0.5))))
    except (TypeError, ValueError):
        return 0.5


def learned_strength(method: str, default: float) -> dict:
    """The strength bin with the best smoothed mean rating, once enough different clients rated."""
    rows = _rated(method)
    clients = {c for _, _, _, c in rows}
    if len(clients) < MIN_CLIENTS:
        return {
            "strength": default,
            "ratings": len(rows),
            "clients": len(clients),
            "learned": False,
        }
    per_client: dict[tuple[int, str], list[int]] = defaultdict(list)
    for _, strength, stars, client in rows:
        per_client[(min(int(strength * BINS), BINS - 1), client)].append(stars)
    bins: dict[int, list[float]] = defaultdict(list)  # one value per client and bin
    for (b, _), stars in per_client.items():
        bins[b].append(sum(stars) / len(stars))
    prior = statistics.median(v for values in bins.values() for v in values)
    scores = {
        b: (statistics.median(v) * len(v) + PRIOR_WEIGHT * prior) / (len(v) + PRIOR_WEIGHT)
        for b, v in bins.items()
    }
    home = min(int(default * BINS), BINS - 1)  # the method's own default's bin
    candidates = [b for b in scores if len(bins[b]) >= MIN_BIN_CLIENTS or b == home]
    best = max(
        candidates or [home],
        key=lambda b: (scores.get(b, prior), -abs((b + 0.5) / BINS - default)),
    )
    strength = default if best == home else round((best + 0.5) / BINS, 2)
    return {
        "strength": strength,
        "ratings": len(rows),
        "clients": len(clients),
        "learned": True,
        "mean_stars_by_strength": {
            f"{(b + 0.5) / BINS:.1f}": round(scores[b], 2) for b in sorted(scores)
        },
    }


def rating_distribution(own_strength: Callable[[str], float]) -> dict[str, dict]:
    """Per method: count of each star value, the mean and the learned default strength
    (`own_strength(method)` until ratings teach one)."""
    out: dict[str, dict] = {}
    for method, _, stars, _ in _rated():
        entry = out.setdefault(
            method, {"stars": {str(i): 0 for i in range(1, 6)}, "n": 0, "mean": 0.0}
        )
        entry["stars"][str(stars)] += 1
        entry["n"] += 1
    for method, entry in out.items():
        entry["mean"] = round(sum(int(k) * v for k, v in entry["stars"].items()) / entry["n"], 2)
        entry["default_strength"] = learned_strength(method, own_strength(method))
    return out
