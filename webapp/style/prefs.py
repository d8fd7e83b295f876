"""What the ratings say: the star distribution per style method and the strength people like best.

Each client address counts once per strength bin (the mean of its ratings there), and nothing is
learned before MIN_CLIENTS different addresses have rated: one client cannot move the default.
"""

from __future__ import annotations

from collections import defaultdict

from webapp.extensions import db
from webapp.models import Rating, Stylization
from webapp.style.builtin import default_strength

BINS = 5
MIN_CLIENTS = 5
PRIOR_WEIGHT = 2.0
RECENT = 2000


def _rated(method: str | None = None) -> list[tuple[str, float, int, str]]:
    """(method, strength, stars, client) of the most recent ratings."""
    query = (
        db.select(Stylization.method, Stylization.params, Rating.stars, Rating.client)
        .join(Stylization, Stylization.id == Rating.stylization_id)
        .order_by(Rating.id.desc())
        .limit(RECENT)
    )
    if method:
        query = query.where(Stylization.method == method)
    return [(m, _strength(p), s, c) for m, p, s, c in db.session.execute(query)]


def _strength(params) -> float:
    try:
        return min(1.0, max(0.0, float((params or {}).get("strength", 0.5))))
    except (TypeError, ValueError):
        return 0.5


def learned_strength(method: str, default: float = 0.5) -> dict:
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
    prior = sum(sum(v) for v in bins.values()) / sum(len(v) for v in bins.values())
    scores = {b: (sum(v) + PRIOR_WEIGHT * prior) / (len(v) + PRIOR_WEIGHT) for b, v in bins.items()}
    best = max(scores, key=lambda b: (scores[b], -abs((b + 0.5) / BINS - default)))
    return {
        "strength": round((best + 0.5) / BINS, 2),
        "ratings": len(rows),
        "clients": len(clients),
        "learned": True,
        "mean_stars_by_strength": {
            f"{(b + 0.5) / BINS:.1f}": round(scores[b], 2) for b in sorted(scores)
        },
    }


def rating_distribution() -> dict[str, dict]:
    """Per method: count of each star value, the mean and the learned default strength."""
    out: dict[str, dict] = {}
    for method, _, stars, _ in _rated():
        entry = out.setdefault(
            method, {"stars": {str(i): 0 for i in range(1, 6)}, "n": 0, "mean": 0.0}
        )
        entry["stars"][str(stars)] += 1
        entry["n"] += 1
    for method, entry in out.items():
        entry["mean"] = round(sum(int(k) * v for k, v in entry["stars"].items()) / entry["n"], 2)
        entry["default_strength"] = learned_strength(method, default_strength(method))
    return out
