"""Attacks on the labels and ratings: extra user agents, cookies and repeat ratings must not buy votes."""

import io

from ml.style.methods import NST_DEFAULT_STRENGTH
from tests.conftest import image_bytes


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def upload_and_label(client, seed: int, label: str, **extra) -> str:
    cid = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes(seed=seed)), "p.jpg")},
        content_type="multipart/form-data",
        **extra,
    ).json["id"]
    response = client.post(f"/api/classify/{cid}/feedback", json={"label": label}, **extra)
    assert response.status_code == 201, response.json
    return cid


def gender(app):
    from webapp.extensions import db
    from webapp.tables import Task

    return db.session.scalar(db.select(Task).where(Task.name == "gender"))


def test_one_attacker_with_many_user_agents_cannot_relabel_honest_photos(app):
    from webapp.classification import datasets

    honest = [
        upload_and_label(app.test_client(), seed, "female", **at(f"10.0.1.{seed}"))
        for seed in range(12)
    ]
    mallory = app.test_client()
    for cid in honest:  # the honest users' own classifications: not hers to label
        refused = mallory.post(
            f"/api/classify/{cid}/feedback", json={"label": "male"}, **at("10.6.6.6")
        )
        assert refused.status_code == 403
    for seed in range(
        12
    ):  # so she uploads the same photos herself, from 3 browsers and fresh cookies
        for agent in ("firefox", "chrome", "curl"):
            upload_and_label(
                app.test_client(), seed, "male", headers={"User-Agent": agent}, **at("10.6.6.6")
            )
    with app.app_context():
        disputed: list[int] = []
        outcome = datasets.voters.Outcome()
        items = datasets.labelled_images(gender(app), disputed, outcome)
        assert not any(
            x.label == "male" for x in items
        )  # her votes count once per photo, never win
        # one against one on every photo, and she is the one party to all 12 disputes (issue 20:
        # one opposing voter cannot dispute a task into failure): her votes are set aside
        assert not disputed and [x.label for x in items] == ["female"] * 12
        assert len(outcome.set_aside) == 1


def test_clear_majority_wins_and_near_tie_is_left_out(app):
    from webapp.classification import datasets

    for n, label in enumerate(["female", "female", "male"]):  # 2 of 3: clear
        upload_and_label(app.test_client(), 1, label, **at(f"10.0.2.{n}"))
    for n, label in enumerate(["female", "female", "female", "male", "male"]):  # 3 of 5: too close
        upload_and_label(app.test_client(), 2, label, **at(f"10.0.3.{n}"))
    with app.app_context():
        disputed: list[int] = []
        items = datasets.labelled_images(gender(app), disputed)
        assert [(x.label, x.votes) for x in items] == [("female", {"female": 2, "male": 1})]
        assert len(disputed) == 1


def test_behind_a_proxy_the_forwarded_address_is_the_voter(tmp_path):
    from tests.conftest import build_app, make_config
    from webapp.classification import datasets

    direct = build_app(
        make_config(tmp_path / "a")
    )  # PROXY_COUNT=0: X-Forwarded-For is the client's own claim
    for n in range(3):
        upload_and_label(
            direct.test_client(), 1, "male", headers={"X-Forwarded-For": f"10.0.0.{n}"}
        )
    proxied = build_app(
        make_config(tmp_path / "b", PROXY_COUNT=1)
    )  # one trusted proxy reports the address
    for n in range(3):
        upload_and_label(
            proxied.test_client(), 1, "male", headers={"X-Forwarded-For": f"10.0.0.{n}"}
        )
    for app, voters in ((direct, 1), (proxied, 3)):
        with app.app_context():
            (item,) = datasets.labelled_images(gender(app))
            assert item.votes == {"male": voters}


def test_poisoned_feedback_never_enters_the_holdout_when_trusted_labels_exist(app):
    from webapp.classification import datasets
    from webapp.extensions import db
    from webapp.tables import Classification, TrainingExample

    for seed in range(10):  # imported data: trusted
        cid = upload_and_label(
            app.test_client(), seed, "female" if seed % 2 else "male", **at("10.0.4.1")
        )
        with app.app_context():
            row = db.session.scalar(
                db.select(Classification).where(Classification.public_id == cid)
            )
            db.session.add(
                TrainingExample(
                    task_id=row.task_id,
                    image_id=row.image_id,
                    label="female" if seed % 2 else "male",
                    source="celeba",
                )
            )
            db.session.commit()
    for seed in range(100, 130):  # unreviewed feedback from one address
        upload_and_label(app.test_client(), seed, "male", **at("10.6.6.6"))
    with app.app_context():
        items = datasets.labelled_images(gender(app))
        hold = datasets.holdout(gender(app), items)
        info = datasets.composition(hold)
        assert hold and all(x.trusted for x in hold)
        assert (
            info["trusted"] and info["sources"] == {"imported": len(hold)} and "warning" not in info
        )


def test_without_trusted_labels_the_holdout_says_so_and_an_admin_label_is_trusted(
    app, client, admin
):
    from webapp.classification import datasets

    for seed in range(12):
        upload_and_label(
            app.test_client(), seed, "female" if seed % 2 else "male", **at(f"10.0.5.{seed}")
        )
    with app.app_context():
        info = datasets.composition(
            datasets.holdout(gender(app), datasets.labelled_images(gender(app)))
        )
        assert info["n"] > 0 and not info["trusted"] and "review queue" in info["warning"]
        assert info["sources"] == {"unreviewed_feedback": info["n"]}
    gender_card = {
        t["name"]: t for t in client.get("/api/admin/overview", headers=admin).json["tasks"]
    }["gender"]
    assert gender_card["trusted_labels"] == 0  # the dashboard asks an admin to verify a sample

    upload_and_label(
        app.test_client(), 50, "male", headers=admin
    )  # an admin's own label is trusted at once
    with app.app_context():
        hold = datasets.holdout(gender(app), datasets.labelled_images(gender(app)))
        assert [x.provenance for x in hold] == ["admin_verified"]
        assert datasets.composition(hold)["trusted"]


def stylization_done(app, strength: float, owner_client, address: str) -> str:
    fields = {
        "content": (io.BytesIO(image_bytes(seed=1)), "c.jpg"),
        "style": (io.BytesIO(image_bytes(seed=2)), "s.png"),
        "strength": str(strength),
    }
    sid = owner_client.post(
        "/api/stylize", data=fields, content_type="multipart/form-data", **at(address)
    ).json["id"]
    from webapp.extensions import db
    from webapp.tables import Stylization

    with app.app_context():
        row = db.session.scalar(db.select(Stylization).where(Stylization.public_id == sid))
        row.job.status = "done"  # as the worker ends it
        db.session.commit()
    return sid


def test_one_client_cannot_move_the_default_strength(app, client):
    def default():
        return {m["method"]: m for m in client.get("/api/styles").json}["nst"]["default_strength"]

    own = NST_DEFAULT_STRENGTH
    assert default() == own
    for agent in ("a", "b", "c", "d", "e", "f"):  # six 5-star ratings from one address
        sid = stylization_done(app, 0.1, client, "10.6.6.6")  # far from its own default
        rated = client.post(
            f"/api/stylize/{sid}/rating",
            json={"stars": 5},
            headers={"User-Agent": agent},
            **at("10.6.6.6"),
        )
        assert rated.status_code == 201
    assert default() == own


def test_one_rating_per_client_per_stylization(app, client):
    from webapp.extensions import db
    from webapp.tables import Rating

    sid = stylization_done(app, 0.5, client, "10.0.6.1")
    for stars in (1, 5, 4):
        assert (
            client.post(
                f"/api/stylize/{sid}/rating", json={"stars": stars}, **at("10.0.6.1")
            ).status_code
            == 201
        )
    with app.app_context():
        assert [r.stars for r in db.session.scalars(db.select(Rating))] == [
            4
        ]  # the latest replaces the others
    assert client.get(f"/api/stylize/{sid}", **at("10.0.6.1")).json["rating"]["stars"] == 4
