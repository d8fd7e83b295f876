"""A fresh install answers gender, smiling and age; users' corrections retrain smiling without harm.

Real faces: scikit-image's astronaut photo and its LFW subset, whose 100 faces were labelled by
eye for gender and smiling (bench/data/lfw_face_labels.csv). Nothing here tunes on them.
"""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from skimage import data as skdata

from tests.conftest import build_app, dispose, make_config
from tests.http_helpers import retrain
from tests.services import REPO, Worker, app_env, fresh_postgres_database, race

pytestmark = pytest.mark.slow  # loads the face networks, races processes, retrains

LABELS = REPO / "bench" / "data" / "lfw_face_labels.csv"


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, SHIPPED_FACE_MODELS=True)


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def lfw_face(index: int, side: int = 100) -> np.ndarray:
    """Face `index` of scikit-image's LFW subset, grey as RGB, `side` px."""
    grey = (skdata.lfw_subset()[index] * 255).astype(np.uint8)
    return np.repeat(
        cv2.resize(grey, (side, side), interpolation=cv2.INTER_CUBIC)[..., None], 3, -1
    )


def classify(client, pixels, task: str = "gender", **kw):
    return client.post(
        "/api/classify",
        data={"image": (io.BytesIO(png(pixels)), "photo.png"), "task": task},
        content_type="multipart/form-data",
        **kw,
    )


def test_a_fresh_install_answers_all_three_shipped_tasks(client):
    tasks = {t["name"]: t for t in client.get("/api/tasks").json}
    assert {n: tasks[n]["model_version"] for n in ("gender", "smiling", "age")} == {
        "gender": "v1",
        "smiling": "v1",
        "age": "v1",
    }
    assert tasks["age"]["labels"] == ["0-17", "18-29", "30-44", "45-59", "60+"]
    photo = skdata.astronaut()  # Eileen Collins' official portrait: a smiling woman
    gender, smiling, age = (classify(client, photo, t).json for t in ("gender", "smiling", "age"))
    assert (gender["label"], smiling["label"]) == ("female", "smiling")
    assert gender["probability"] > 0.5 and smiling["probability"] > 0.9
    assert gender["face_found"] is True and len(gender["face_box"]) == 4
    x, y, w, h = gender["face_box"]
    assert 140 < x + w / 2 < 240 and 60 < y + h / 2 < 180  # her face
    assert age["label"] in ("18-29", "30-44") and 18 <= age["age_years"] < 45
    assert "age_years" not in gender


def test_no_face_gets_no_answer_about_a_face(client):
    answer = classify(client, skdata.coffee(), "gender").json
    assert answer["label"] is None and answer["model_version"] == "v1"
    assert answer["face_found"] is False and answer["face_box"] is None
    assert answer["faces"] == [] and answer["probability"] is None


def test_an_admin_switches_a_shipped_task_off_and_on(client, admin):
    response = client.patch("/api/admin/tasks/age", json={"enabled": False}, headers=admin)
    assert response.status_code == 200 and response.json["enabled"] is False
    assert "age" not in {t["name"] for t in client.get("/api/tasks").json}
    refused = classify(client, skdata.astronaut(), "age")
    assert refused.status_code == 404 and "age" in refused.json["error"]
    assert (
        client.patch("/api/admin/tasks/age", json={"enabled": "no"}, headers=admin).status_code
        == 400
    )
    assert client.patch("/api/admin/tasks/age", json={"enabled": False}).status_code == 401
    client.patch("/api/admin/tasks/age", json={"enabled": True}, headers=admin)
    assert classify(client, skdata.astronaut(), "age").json["model_version"] == "v1"


@pytest.fixture(params=["sqlite", "postgresql"])
def racing_app(request, tmp_path):
    drop, overrides = None, {"SHIPPED_FACE_MODELS": True}
    if request.param == "postgresql":
        url, drop = fresh_postgres_database()
        overrides["SQLALCHEMY_DATABASE_URI"] = url
    app = build_app(make_config(tmp_path, **overrides))
    yield app
    dispose(app)
    if drop:
        drop()


def test_version_1_registers_once_when_processes_race(racing_app):
    """Two web workers' warm-ups at the same moment: one v1 per task, deployed once."""
    script = (
        "from webapp import create_app\nfrom webapp.classification import service\napp = create_app()\n"
        "with app.app_context():\n"
        "    print(' '.join(service.deployed_version(t).version for t in service.enabled_tasks()))\n"
    )
    assert set(race(script, app_env(racing_app.config))) == {"v1 v1 v1"}
    from webapp.extensions import db
    from webapp.tables import Deployment, ModelVersion

    with racing_app.app_context():
        rows = db.session.execute(
            db.select(ModelVersion.target, ModelVersion.version, ModelVersion.kind)
        ).all()
        assert sorted(rows) == [
            ("age", "v1", "face"),
            ("gender", "v1", "face"),
            ("smiling", "v1", "face"),
        ]
        assert db.session.scalar(db.select(db.func.count(Deployment.id))) == 3


def labelled(task: str) -> dict[int, str]:
    rows = list(csv.DictReader(LABELS.open()))
    return {int(r["index"]): r[task] for r in rows if r[task] != "?"}


def balanced_accuracy(truth: list[str], answers: list[str]) -> float:
    labels = sorted(set(truth))
    return float(
        np.mean([np.mean([a == t for a, t in zip(answers, truth) if t == k]) for k in labels])
    )


def test_forty_users_labels_retrain_smiling_without_making_it_worse(
    app, client, admin, env, tmp_path
):
    """Eight users each classify five faces and say whether they smile; an admin retrains."""
    faces = labelled("smiling")
    rng = np.random.default_rng(7)
    smiling = [i for i, v in faces.items() if v == "smiling"]
    neutral = [i for i, v in faces.items() if v == "not_smiling"]
    taught = set(rng.choice(smiling, 14, replace=False)) | set(
        rng.choice(neutral, 26, replace=False)
    )
    unseen = sorted(set(faces) - taught)
    for n, index in enumerate(sorted(taught)):
        user = app.test_client()  # its own cookie jar: the uploader may give the label
        address = {"REMOTE_ADDR": f"10.0.0.{n // 5 + 1}"}
        answer = classify(user, lfw_face(index), "smiling", environ_base=address).json
        done = user.post(
            f"/api/classify/{answer['id']}/feedback",
            json={"label": faces[index]},
            environ_base=address,
        )
        assert done.status_code == 201, done.json

    def score() -> float:
        answers = [classify(client, lfw_face(i), "smiling").json["label"] for i in unseen]
        return balanced_accuracy([faces[i] for i in unseen], answers)

    before = score()
    worker = Worker(env, "train", tmp_path / "worker.log").start()
    try:
        result = retrain(client, admin, 300, task="smiling")
    finally:
        worker.stop()
    assert result["status"] == "done", result["log_tail"] + worker.output()[-3000:]
    after = score()
    served = client.get("/api/tasks").json
    version = {t["name"]: t["model_version"] for t in served}["smiling"]
    assert before >= 0.85, before  # version 1 on faces nobody labelled
    assert after >= 0.85 and after >= before - 0.05, (before, after, result["result"])
    if result["result"]["promoted"]:
        assert version == "v2"
    else:
        assert version == "v1" and result["result"].get("reason")
    print(
        f"smiling balanced accuracy on {len(unseen)} unseen faces: {before:.3f} -> {after:.3f} ({version})"
    )


def test_a_new_deployment_loads_in_the_background_while_the_previous_one_answers(
    app, client, tmp_path
):
    """A version promoted elsewhere (a train worker): no request waits for it to load."""
    import shutil

    from ml.common import modeldir
    from tests.services import wait_for
    from webapp.classification import service
    from webapp.extensions import db
    from webapp.registry import versions as registry
    from webapp.tables import Task

    photo = skdata.astronaut()
    assert classify(client, photo, "smiling").json["model_version"] == "v1"
    with app.app_context():
        v1_dir = registry.local_dir(registry.deployed("smiling"))
        v2_dir = tmp_path / "v2"
        shutil.copytree(v1_dir, v2_dir)
        meta = modeldir.read_meta(v2_dir)
        modeldir.write_meta(v2_dir, {**meta, "calibration": {"temperature": 3.0}})  # less sure
        keys: list[str] = []
        mv = registry.register_version("smiling", "face", v2_dir, keys, created_by="test")
        registry.promote("smiling", mv.version, actor="test")
        db.session.commit()
        registry.forget(mv)  # as if another process had promoted it
    first = classify(client, photo, "smiling").json
    assert first["model_version"] == "v1"  # answered by the loaded v1, not after loading v2
    answer = wait_for(
        lambda: (a := classify(client, photo, "smiling").json)["model_version"] == "v2" and a,
        timeout=120,
        message="v2 served after its background load",
    )
    assert answer["label"] == "smiling" and answer["probability"] < first["probability"]
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.name == "smiling"))
        assert service.serving_model(task)[0].version == "v2"


def test_each_web_worker_loads_a_new_deployment_before_anyone_asks(app, client, tmp_path):
    """The watcher of a web worker loads a version deployed elsewhere; the next request gets it at once."""
    import shutil
    import threading

    from tests.services import wait_for
    from webapp.classification import warmup
    from webapp.extensions import db
    from webapp.registry import versions as registry

    assert classify(client, skdata.astronaut(), "gender").json["model_version"] == "v1"
    stop = threading.Event()
    warmup.start(app, stop)
    try:
        with app.app_context():
            v2_dir = tmp_path / "v2"
            shutil.copytree(registry.local_dir(registry.deployed("gender")), v2_dir)
            (v2_dir / "note.txt").write_text("a second version with the same network")
            mv = registry.register_version("gender", "face", v2_dir, [], created_by="test")
            registry.promote("gender", mv.version, actor="test")
            db.session.commit()
            registry.forget(mv)  # as if a train worker had promoted it
            wait_for(lambda: registry.is_loaded(mv), timeout=120, message="the watcher loading v2")
        assert classify(client, skdata.astronaut(), "gender").json["model_version"] == "v2"
    finally:
        stop.set()
