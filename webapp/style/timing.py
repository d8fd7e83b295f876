"""How long stylizations took here: what the page shows as the expected wait.

The wait a person has is from their request to the finished picture (queue pickup, loading the
pictures, the network, storing the result), so it is measured from a stylization's `created` to
its `finished`, per method and output size, over the most recent finished jobs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from webapp.extensions import db
from webapp.tables import Stylization

RECENT = 500
PER_SIZE = 50


def _seconds(created, finished) -> float | None:
    if created is None or finished is None:
        return None
    if (created.tzinfo is None) != (finished.tzinfo is None):  # SQLite hands back naive UTC
        created, finished = created.replace(tzinfo=None), finished.replace(tzinfo=None)
    return max(0.0, (finished - created).total_seconds())


def expected_waits() -> dict[str, dict[str, dict]]:
    """{method: {size: {"seconds": median wait, "jobs": n}}} from the recent finished jobs."""
    rows = db.session.execute(
        db.select(Stylization.method, Stylization.params, Stylization.created, Stylization.finished)
        .where(Stylization.status == "done")
        .order_by(Stylization.id.desc())
        .limit(RECENT)
    )
    waits: dict[tuple[str, int], list[float]] = defaultdict(list)
    for method, params, created, finished in rows:
        size, seconds = (params or {}).get("size"), _seconds(created, finished)
        if isinstance(size, int) and seconds is not None and len(waits[(method, size)]) < PER_SIZE:
            waits[(method, size)].append(seconds)
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for (method, size), values in waits.items():
        out[method][str(size)] = {
            "seconds": round(statistics.median(values), 2),
            "jobs": len(values),
        }
    return dict(out)
