"""The admin console's API: overview, review queue, jobs, schedules, learned style defaults."""

import datetime as dt
import io

from ml.style.methods import NST_DEFAULT_STRENGTH
from tests.conftest import image_bytes


def address(user: str) -> dict:
    """The request environment of `user`'s machine: one voter per client address."""
    return {"REMOTE_ADDR": "10.1.{}.{}".format(*divmod(sum(map(ord, user)) * 7919 % 65000, 256))}


def labelled(client, label="male", user="u1", seed=0, task="gender"):
    client.delete_cookie("cv_client")  # each photo from a fresh browser: one voter per address
    cid = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes(seed=seed)), "a.jpg"), "task": task},
        content_type="multipart/form-data",
        environ_base=address(user),
    ).json["id"]
    client.post(f"/api/classify/{cid}/feedback", json={"label": label}, environ_base=address(user))
    return cid


def test_overview_counts_feedback(client, admin):
    for seed in range(3):
        labelled(client, seed=seed)
    body = client.get("/api/admin/overview", headers=admin).json
    gender = {t["name"]: t for t in body["tasks"]}["gender"]
    assert gender["feedback_total"] == 3 and gender["pending_review"] == 3
    assert gender["feedback_per_day"][-1]["n"] == 3
    assert body["styles"] == {} and any(m["method"] == "nst" for m in body["style_methods"])


def test_review_queue_verify_and_reject(app, client, admin):
    labelled(client, "male", seed=1)
    labelled(client, "female", seed=2)
    queue = client.get("/api/admin/feedback", headers=admin).json
    assert [q["label"] for q in queue] == ["male", "female"]
    assert client.get(queue[0]["image_url"], headers=admin).status_code == 200
    assert client.get(queue[0]["image_url"]).status_code == 401
    ok = client.post(
        f"/api/admin/feedback/{queue[0]['id']}/review",
        json={"verdict": "verified", "label": "female"},
        headers=admin,
    )
    assert (
        ok.status_code == 200 and ok.json["label"] == "female" and ok.json["reviewed_by"] == "root"
    )
    client.post(
        f"/api/admin/feedback/{queue[1]['id']}/review", json={"verdict": "rejected"}, headers=admin
    )
    assert client.get("/api/admin/feedback", headers=admin).json == []
    bad = client.post(
        f"/api/admin/feedback/{queue[1]['id']}/review", json={"verdict": "maybe"}, headers=admin
    )
    assert bad.status_code == 400

    from webapp.classification import datasets
    from webapp.extensions import db
    from webapp.tables import Task

    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "gender"))
        items = datasets.labelled_images(task)
        assert [(x.label, x.verified) for x in items] == [
            ("female", True)
        ]  # rejected label is gone
        assert [x.label for x in datasets.holdout(task, items)] == [
            "female"
        ]  # verified labels are the holdout


def test_votes_one_per_client_and_untrusted_client_outvoted(app, client):
    from webapp.classification import datasets
    from webapp.extensions import db
    from webapp.tables import Classification, Task, TrainingExample

    cid = labelled(client, "male", user="alice", seed=5)
    for agent in ("alice-phone", "alice-laptop"):  # new user agents, same address: still one voter
        client.post(
            f"/api/classify/{cid}/feedback",
            json={"label": "female"},
            headers={"User-Agent": agent},
            environ_base=address("alice"),
        )
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "gender"))
        (item,) = datasets.labelled_images(task)
        assert item.label == "female" and item.votes == {
            "female": 1
        }  # alice's latest vote counts, once

    trusted = labelled(client, "male", user="bob", seed=6)
    labelled(client, "female", user="mallory", seed=6)  # contradicts a trusted label
    disputed = labelled(client, "male", user="bob", seed=7)
    labelled(
        client, "female", user="mallory", seed=7
    )  # the same photo, uploaded and labelled by mallory
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "gender"))
        image_id = db.session.scalar(
            db.select(Classification.image_id).where(Classification.public_id == trusted)
        )
        db.session.add(
            TrainingExample(task_id=task.id, image_id=image_id, label="male", source="import")
        )
        db.session.commit()
        by_image = {x.image.id: x for x in datasets.labelled_images(task)}
        disputed_image = db.session.scalar(
            db.select(Classification.image_id).where(Classification.public_id == disputed)
        )
        assert (
            by_image[disputed_image].label == "male"
        )  # bob agrees with trusted labels, mallory does not


def test_schedule_crud_and_due_logic(app, client, admin):
    bad = client.put("/api/admin/schedules/gender", json={"every_hours": -1}, headers=admin)
    assert bad.status_code == 400
    assert (
        client.put("/api/admin/schedules/nope", json={"every_hours": 1}, headers=admin).status_code
        == 404
    )
    row = client.put("/api/admin/schedules/gender", json={"every_hours": 1}, headers=admin).json
    assert row["every_hours"] == 1 and row["enabled"] and row["last_run"] is None

    from webapp.extensions import db
    from webapp.registry.schedules import run_due_schedules
    from webapp.tables import Job, Schedule, utcnow

    def age_last_run():
        row = db.session.scalar(db.select(Schedule))
        row.last_run = utcnow() - dt.timedelta(hours=2)
        db.session.commit()

    with app.app_context():
        started = run_due_schedules()
        assert len(started) == 1  # never ran: due
        db.session.get(Job, started[0]).status = "done"
        db.session.commit()
        assert run_due_schedules() == []  # not due yet
        age_last_run()
        assert run_due_schedules() == []  # due, but no new feedback since the last run
    listed = client.get("/api/admin/schedules", headers=admin).json
    assert listed[0]["last_outcome"].startswith("skipped: no new feedback")
    labelled(client)
    with app.app_context():
        age_last_run()
        assert len(run_due_schedules()) == 1
    assert client.delete("/api/admin/schedules/gender", headers=admin).status_code == 200


def test_jobs_list_and_cancel(client, admin):
    job_id = client.post("/api/admin/retrain", json={"task": "gender"}, headers=admin).json[
        "job_id"
    ]
    jobs = client.get("/api/admin/jobs", headers=admin).json
    assert jobs[0]["id"] == job_id and jobs[0]["status"] == "queued"
    cancelled = client.post(f"/api/admin/jobs/{job_id}/cancel", headers=admin)
    assert cancelled.status_code == 202 and cancelled.json["status"] == "failed"
    assert client.post(f"/api/admin/jobs/{job_id}/cancel", headers=admin).status_code == 409
    assert (
        client.post("/api/admin/retrain", json={"task": "gender"}, headers=admin).status_code == 202
    )


def test_learned_default_strength_from_ratings(app, client):
    from webapp.extensions import db
    from webapp.jobs.runner import create_job
    from webapp.tables import Image, Rating, Stylization

    with app.app_context():
        image = Image(
            sha256="0" * 64,
            storage_key="images/x.jpg",
            format="jpeg",
            width=1,
            height=1,
            size_bytes=1,
        )
        db.session.add(image)
        # liked around 0.5, away from nst's own default (1): what the ratings teach must show
        ratings = [(0.5, 5), (0.55, 5), (0.45, 4), (0.5, 5), (0.48, 4), (0.52, 5)]
        ratings += [(0.1, 1), (0.15, 2), (0.12, 1), (0.9, 3), (0.95, 3), (0.85, 2)]
        for n, (strength, stars) in enumerate(ratings):  # twelve different people
            job = create_job("stylize", target="nst")
            job.status = "done"
            st = Stylization(
                content_image=image,
                method="nst",
                params={"strength": strength, "size": 64},
                job=job,
                client=f"c{n}",
            )
            db.session.add_all([st, Rating(stylization=st, stars=stars, client=f"c{n}")])
        db.session.commit()
    nst = [m for m in client.get("/api/styles").json if m["method"] == "nst"][0]
    assert nst["default_strength"] == 0.5 != NST_DEFAULT_STRENGTH


def test_review_queue_most_informative_first(app, client, admin):
    labelled(client, "male", user="u1", seed=1)
    labelled(client, "male", user="u1", seed=2)
    labelled(client, "male", user="u2", seed=3)
    labelled(client, "female", user="u3", seed=3)  # same photo, the voters disagree
    from webapp.extensions import db
    from webapp.tables import Feedback

    with (
        app.app_context()
    ):  # as if a deployed model had answered: sure of the first label, doubting the second
        first, second = db.session.scalars(db.select(Feedback).order_by(Feedback.id)).all()[:2]
        first.classification.probabilities = {"male": 0.9, "female": 0.1}
        second.classification.probabilities = {"male": 0.05, "female": 0.95}
        db.session.commit()
    oldest = client.get("/api/admin/feedback?task=gender", headers=admin).json
    ranked = client.get("/api/admin/feedback?task=gender&order=informative", headers=admin).json
    assert [q["id"] for q in oldest] == sorted(q["id"] for q in oldest)
    assert [q["informativeness"]["score"] for q in ranked] == sorted(
        (q["informativeness"]["score"] for q in ranked), reverse=True
    )
    assert ranked[0]["informativeness"]["disagreement"] == 1.0 and ranked[-1]["label"] == "male"
    assert {q["id"] for q in ranked} == {q["id"] for q in oldest}
    scores = {q["id"]: q["informativeness"] for q in ranked}
    assert (
        max(s["doubt"] for s in scores.values()) == 0.95
        and min(s["doubt"] for s in scores.values()) == 0.1
    )
    bad = client.get("/api/admin/feedback?order=best", headers=admin)
    assert bad.status_code == 400 and "order" in bad.json["error"]


def test_dashboard_estimates_labels_needed(client, admin):
    labelled(client, "male", seed=1)
    gender = {t["name"]: t for t in client.get("/api/admin/overview", headers=admin).json["tasks"]}[
        "gender"
    ]
    est = gender["labels_needed"]
    assert est["have"] == 1 and est["needed"] >= 9 and "significantly better" in est["explanation"]


def test_labels_needed_follows_the_gate_and_the_learning_curve():
    from webapp.classification import learning

    assert learning.expected_p_value(0.5, 40, 2) > 0.05  # a coin toss never passes
    assert learning.expected_p_value(0.975, 40, 2) < 0.001
    small, large = (learning.expected_p_value(0.9, m, 2) for m in (6, 30))
    assert small > learning.ALPHA > large  # a bigger holdout shows the same gain
    total = learning._first_model_labels(0, 0, 2)
    assert 20 < total < 200 and learning._first_model_labels(total + 5, 0, 2) == total + 5


def test_dashboard_counts_trusted_images_as_the_retrain_does(app, client, admin):
    """Two verified labels of one photo, and a verified label of an imported photo, are one trusted
    image each: the dashboard once counted label rows (4 here) where the retrain sees 2 images."""
    from webapp.classification import datasets
    from webapp.extensions import db
    from webapp.tables import Classification, Task, TrainingExample

    labelled(client, "male", user="bob", seed=8)
    labelled(client, "male", user="carol", seed=8)  # the same photo, labelled by a second voter
    imported = labelled(client, "female", user="dave", seed=9)
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "gender"))
        image_id = db.session.scalar(
            db.select(Classification.image_id).where(Classification.public_id == imported)
        )
        db.session.add(
            TrainingExample(task_id=task.id, image_id=image_id, label="female", source="import")
        )
        db.session.commit()
    for item in client.get("/api/admin/feedback", headers=admin).json:
        verdict = {"verdict": "verified"}
        client.post(f"/api/admin/feedback/{item['id']}/review", json=verdict, headers=admin)
    body = client.get("/api/admin/overview", headers=admin).json
    card = {t["name"]: t for t in body["tasks"]}["gender"]
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "gender"))
        retrain_sees = sum(x.trusted for x in datasets.labelled_images(task))
    assert card["trusted_labels"] == retrain_sees == 2
