"""50 concurrent clients classify and correct labels against gunicorn: no row lost or duplicated."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import image_bytes
from tests.reliability import orphans_and_dangling

pytestmark = pytest.mark.slow  # gunicorn and its workers, started for the test

CLIENTS, ROUNDS = 50, 2
SHARED = image_bytes(
    "PNG", size=(48, 48), seed=999
)  # every client also sends this one: a dedup race


def one_client(url: str, n: int) -> list[tuple[str, int, dict]]:
    """Classify ROUNDS new pictures and the shared one, correcting each label; (what, status, body) per call."""
    session = requests.Session()
    session.headers["User-Agent"] = f"reliability-client/{n}"
    calls = []
    pictures = [image_bytes("JPEG", seed=1000 * n + r) for r in range(ROUNDS)] + [SHARED]
    for i, data in enumerate(pictures):
        task = ("gender", "smiling")[(n + i) % 2]
        r = session.post(
            f"{url}/api/classify",
            files={"image": (f"p{i}.jpg", data)},
            data={"task": task},
            timeout=60,
        )
        calls.append(("classify", r.status_code, r.json()))
        if r.status_code != 200:
            continue
        label = {"gender": "female", "smiling": "smiling"}[task]
        f = session.post(
            f"{url}/api/classify/{r.json()['id']}/feedback", json={"label": label}, timeout=60
        )
        calls.append(("feedback", f.status_code, f.json()))
    return calls


def db_counts(app) -> dict:
    from webapp.extensions import db
    from webapp.tables import Classification, Feedback, Image

    with app.app_context():
        count = lambda model: db.session.scalar(db.select(db.func.count()).select_from(model))  # noqa: E731
        per_classification = Counter(db.session.scalars(db.select(Feedback.classification_id)))
        out = {
            "classifications": count(Classification),
            "feedback": count(Feedback),
            "images": count(Image),
            "classification_ids": set(db.session.scalars(db.select(Classification.public_id))),
            "feedback_per_classification": per_classification,
            "owners": len(set(db.session.scalars(db.select(Classification.owner)))),
        }
        db.session.remove()
    return out


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_fifty_concurrent_clients_lose_and_duplicate_nothing(database, migrated, serve, request):
    overrides = {}
    if database == "postgresql":
        overrides["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres_url")
    app, env = migrated(**overrides)
    server = serve(env, workers=2)

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [
            c
            for calls in pool.map(lambda n: one_client(server.url, n), range(CLIENTS))
            for c in calls
        ]

    statuses = Counter((what, status) for what, status, _ in results)
    assert statuses == {
        ("classify", 200): CLIENTS * (ROUNDS + 1),
        ("feedback", 201): CLIENTS * (ROUNDS + 1),
    }, server.output()[-3000:]
    answered = [body["id"] for what, _, body in results if what == "classify"]
    assert len(set(answered)) == len(answered), (
        "two uploads were answered with the same classification id"
    )

    rows = db_counts(app)
    assert rows["classifications"] == len(answered) and rows["classification_ids"] == set(answered)
    assert rows["feedback"] == len(answered)
    assert set(rows["feedback_per_classification"].values()) == {1}
    assert rows["images"] == CLIENTS * ROUNDS + 1, (
        "the shared picture must be stored once, every other once each"
    )
    assert rows["owners"] == CLIENTS  # each session's cookie made it the owner of its own uploads
    orphans, dangling = orphans_and_dangling(app)
    assert dangling == [], f"rows point at missing objects: {dangling[:5]}"
    assert "Traceback" not in server.output()
