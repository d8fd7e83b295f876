"""What the ratings say: the star distribution per style method and the strength people like best."""
from __future__ import annotations

from collections import defaultdict

from .extensions import db
from .models import Rating, Stylization

BINS = 5
MIN_RATINGS = 5
PRIOR_WEIGHT = 2.0
RECENT = 2000


def _rated(method: str | None = None) -> list[tuple[str, float, int]]:
    """(method, strength, stars) of the most recent ratings."""
    query = (db.select(Stylization.method, Stylization.params, Rating.stars)
             .join(Stylization, Stylization.id == Rating.stylization_id).order_by(Rating.id.desc()).limit(RECENT))
    if method:
        query = query.where(Stylization.method == method)
    return [(m, float((p or {}).get("strength", 0.5)), s) for m, p, s in db.session.execute(query)]


def learned_strength(method: str, default: float = 0.5) -> dict:
    """The strength bin with the best smoothed mean rating, once there are enough ratings."""
    rows = _rated(method)
    if len(rows) < MIN_RATINGS:
        return {"strength": default, "ratings": len(rows), "learned": False}
    prior = sum(s for _, _, s in rows) / len(rows)
    bins: dict[int, list[int]] = defaultdict(list)
    for _, strength, stars in rows:
        bins[min(int(strength * BINS), BINS - 1)].append(stars)
    scores = {b: (sum(v) + PRIOR_WEIGHT * prior) / (len(v) + PRIOR_WEIGHT) for b, v in bins.items()}
    best = max(scores, key=lambda b: (scores[b], -abs((b + 0.5) / BINS - default)))
    return {"strength": round((best + 0.5) / BINS, 2), "ratings": len(rows), "learned": True,
            "mean_stars_by_strength": {f"{(b + 0.5) / BINS:.1f}": round(scores[b], 2) for b in sorted(scores)}}


def rating_distribution() -> dict[str, dict]:
    """Per method: count of each star value, the mean and the learned default strength."""
    out: dict[str, dict] = {}
    for method, _, stars in _rated():
        entry = out.setdefault(method, {"stars": {str(i): 0 for i in range(1, 6)}, "n": 0, "mean": 0.0})
        entry["stars"][str(stars)] += 1
        entry["n"] += 1
    for method, entry in out.items():
        entry["mean"] = round(sum(int(k) * v for k, v in entry["stars"].items()) / entry["n"], 2)
        from .style_builtin import default_strength

        entry["default_strength"] = learned_strength(method, default_strength(method))
    return out
