"""Every face of a photo answered, no answer where there is no face, a changed mind, and a user's
"no face here" never trained on: what a user of the shipped face tasks meets through the API.

Real faces: scikit-image's astronaut photo and faces of its LFW subset, tiled onto one canvas
as a group photo; scikit-image's coffee cup as a photo without a face.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from tests.faces.test_shipped_face_tasks import classify, config, lfw_face, png  # noqa: F401 - config is a fixture


def group_photo() -> np.ndarray:
    """Three people side by side: two LFW faces (150 and 120 px) and the astronaut (~100 px)."""
    canvas = np.full((300, 700, 3), 200, np.uint8)
    canvas[20:280, 20:240] = skdata.astronaut()[20:280, 110:330]
    canvas[60:210, 300:450] = lfw_face(0, 150)
    canvas[80:200, 520:640] = lfw_face(5, 120)
    return canvas


def say(client, answer: dict, **body):
    return client.post(f"/api/classify/{answer['id']}/feedback", json=body)


def inside(box, x0, y0, x1, y1) -> bool:
    x, y, w, h = box
    return x0 <= x + w / 2 <= x1 and y0 <= y + h / 2 <= y1


def test_a_group_photo_answers_every_face_with_its_box(client):
    answer = classify(client, group_photo()).json
    faces = answer["faces"]
    assert [f["index"] for f in faces] == [0, 1, 2]
    sizes = [f["face_box"][2] * f["face_box"][3] for f in faces]
    assert sizes == sorted(sizes, reverse=True)  # largest first
    where = [(300, 60, 450, 210), (520, 80, 640, 200), (20, 20, 240, 280)]
    for face in faces:
        assert sum(inside(face["face_box"], *w) for w in where) == 1, face
        assert face["label"] in ("female", "male") and set(face["probabilities"]) == {
            "female",
            "male",
        }
        assert face["probability"] == face["probabilities"][face["label"]]
    assert (
        inside(faces[2]["face_box"], *where[2]) and faces[2]["label"] == "female"
    )  # the astronaut
    assert (answer["label"], answer["face_box"]) == (faces[0]["label"], faces[0]["face_box"])
    assert client.get(f"/api/classify/{answer['id']}").json == answer  # read again: the same


def test_age_answers_each_face_with_its_years(client):
    answer = classify(client, group_photo(), "age").json
    assert len(answer["faces"]) == 3
    assert all(isinstance(f["age_years"], float) for f in answer["faces"])
    assert answer["age_years"] == answer["faces"][0]["age_years"]


def test_a_label_names_its_face_and_trains_on_that_faces_chip(app, client):
    from ml.faces import align
    from webapp.extensions import db
    from webapp.storage.store import load_pixels
    from webapp.tables import Classification, Feedback, Image

    answer = classify(client, group_photo()).json
    astronaut = answer["faces"][2]
    said = say(client, answer, label="female", face=2)
    assert said.status_code == 201
    assert said.json == {
        "agrees": astronaut["label"] == "female",
        "label": "female",
        "face": 2,
        "no_face": False,
        "counts": True,
    }
    assert say(client, answer, label="female", face=3).status_code == 404
    assert say(client, answer, label="female", face="2").status_code == 400
    negative = say(client, answer, label="female", face=-1)  # not an index: 400, not "no face -1"
    assert negative.status_code == 400 and "face index" in negative.json["error"]
    with app.app_context():
        fb = db.session.scalar(db.select(Feedback))
        row = db.session.scalar(db.select(Classification))
        assert fb.face == 2 and fb.image_id != row.image_id  # the face's chip, not the photo
        chip = load_pixels(db.session.get(Image, fb.image_id).storage_key)
        [(box, rotation)] = align.detect_all(chip)  # the astronaut alone, found again
        assert rotation == 0 and box[2] > 0.4 * chip.shape[1]


def test_a_coffee_cup_gets_no_answer_and_its_no_face_is_never_trained_on(app, client, admin):
    from webapp.classification import datasets
    from webapp.extensions import db
    from webapp.tables import Task

    answer = classify(client, skdata.coffee()).json
    assert answer["label"] is None and answer["faces"] == [] and answer["face_found"] is False
    assert answer["probability"] is None and answer["probabilities"] == {}
    said = say(client, answer, no_face=True)
    assert said.status_code == 201
    assert said.json == {
        "agrees": True,
        "label": None,
        "face": None,
        "no_face": True,
        "counts": False,
    }
    queue = client.get("/api/admin/feedback", headers=admin).json
    items = queue["items"] if isinstance(queue, dict) else queue
    [item] = [i for i in items if i["no_face"]]
    assert item["label"] is None and item["faces_found"] == 0
    verdict = client.post(
        f"/api/admin/feedback/{item['id']}/review", json={"verdict": "verified"}, headers=admin
    )
    assert verdict.status_code == 200, verdict.json  # an admin agrees: still no face
    face = classify(client, skdata.astronaut()).json
    say(client, face, label="female")
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "gender"))
        items = datasets.labelled_images(task)  # what a retrain trains and judges on
        assert [(x.label, x.source) for x in items] == [("female", "feedback")]
        assert items[0].image.sha256 != queue_image_sha(client, admin, item)


def queue_image_sha(client, admin, item) -> str:
    import hashlib

    return hashlib.sha256(client.get(item["image_url"], headers=admin).data).hexdigest()


def test_a_user_changes_their_answer(app, client):
    from webapp.extensions import db
    from webapp.tables import Feedback

    answer = classify(client, skdata.astronaut()).json
    assert answer["label"] == "female"
    first = say(client, answer, label="male").json
    second = say(client, answer, label="female").json
    assert (first["agrees"], second["agrees"]) == (False, True)
    with app.app_context():
        rows = db.session.scalars(db.select(Feedback)).all()
        assert [(r.label, r.face) for r in rows] == [("female", 0)]  # replaced, not added


def test_only_the_uploader_or_an_admin_reads_a_classification(app, client, admin):
    answer = classify(client, skdata.astronaut()).json
    stranger = app.test_client()
    assert stranger.get(f"/api/classify/{answer['id']}").status_code == 403
    assert stranger.get(f"/api/classify/{answer['id']}", headers=admin).json == answer
    assert client.get("/api/classify/nosuchclassification0").status_code == 404


def test_feedback_refuses_a_wrong_label_and_a_switched_off_task(client, admin):
    answer = classify(client, skdata.astronaut(), "age").json
    wrong = say(client, answer, label="18 29")
    assert wrong.status_code == 400 and "18-29" in wrong.json["error"]
    client.patch("/api/admin/tasks/age", json={"enabled": False}, headers=admin)
    off = say(client, answer, label="30-44")
    assert off.status_code == 409 and "switched off" in off.json["error"]


def test_a_turned_face_is_answered_and_its_label_trains_on_it_upright(app, client):
    from ml.faces import align
    from webapp.extensions import db
    from webapp.storage.store import load_pixels
    from webapp.tables import Feedback, Image

    answer = classify(client, np.ascontiguousarray(np.rot90(skdata.astronaut(), 1))).json
    [face] = answer["faces"]
    assert face["rotation"] == 270 and face["label"] == "female"
    assert say(client, answer, label="female").json["counts"] is True
    with app.app_context():
        fb = db.session.scalar(db.select(Feedback))
        chip = load_pixels(db.session.get(Image, fb.image_id).storage_key)
        [(box, rotation)] = align.detect_all(chip)
        assert rotation == 0  # the chip stands upright: training reads the face as the user saw it


@pytest.mark.slow
def test_the_shipped_v1_model_page_shows_its_evidence_and_live_agreement(app, client, admin):
    from webapp.extensions import db
    from webapp.jobs import runner
    from webapp.tables import Job

    answer = classify(client, skdata.astronaut()).json  # registers v1, queues its evaluation
    say(client, answer, label="female")
    with app.app_context():
        [job] = db.session.scalars(db.select(Job).where(Job.kind == "evidence")).all()
        assert (job.target, job.params, job.status) == ("gender", {"version": "v1"}, "queued")
        runner.execute_job(job.id)  # what the train worker does
        assert db.session.get(Job, job.id).status == "done"
    [v1] = client.get("/api/admin/models/gender", headers=admin).json
    metrics = v1["metrics"]
    assert metrics["accuracy"] >= 0.85 and metrics["n"] == metrics["evaluation_set"]["n"] > 80
    assert "LFW" in metrics["evaluation_set"]["name"] and metrics["evaluation_set"]["licence"]
    assert metrics["holdout"]["reliability"] and metrics["no_face"]["pictures"] > 100
    assert v1["live_agreement"] == {"n": 1, "agree": 1, "share": 1.0}
    for name in ("holdout/roc.png", "holdout/confusion_matrix.png", "holdout/reliability.png"):
        assert name in metrics["files"]
        plot = client.get(f"/api/admin/models/gender/v1/files/{name}", headers=admin)
        assert plot.status_code == 200 and plot.data[:4] == b"\x89PNG"


def test_deleting_a_group_photo_removes_the_face_chips_its_labels_made(app, client):
    from webapp.extensions import db
    from webapp.tables import Feedback, Image

    answer = classify(client, group_photo()).json
    for face in (1, 2):
        assert say(client, answer, label="male", face=face).status_code == 201
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Image.id))) == 3  # the photo, two chips
    assert client.delete(f"/api/classify/{answer['id']}").status_code == 204
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Image.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Feedback.id))) == 0


def test_a_label_on_a_photo_models_answer_agrees_or_not(app, client, monkeypatch):
    """A photo task (no faces): the label is compared with the whole photo's answer."""
    from ml.common.prediction import Prediction
    from webapp.classification import service
    from webapp.extensions import db
    from webapp.tables import ModelVersion

    class PhotoModel:
        def predict(self, pixels):
            return Prediction("male", 0.8, {"female": 0.2, "male": 0.8}, None)

        def predict_batch(self, images):  # the classifying kinds' protocol
            return [self.predict(pixels) for pixels in images]

    with app.app_context():
        db.session.add(
            ModelVersion(
                target="gender",
                version="v9",
                kind="classifier",
                storage_key="x",
                sha256="0" * 64,
                size_bytes=1,
            )
        )
        db.session.commit()
    monkeypatch.setattr(
        service,
        "serving_model",
        lambda task: (db.session.scalar(db.select(ModelVersion)), PhotoModel()),
    )
    answer = classify(client, skdata.coffee()).json
    assert (answer["label"], answer["faces"], answer["probability"]) == ("male", [], 0.8)
    assert say(client, answer, label="female").json["agrees"] is False
    assert say(client, answer, label="male").json["agrees"] is True
