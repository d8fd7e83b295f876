"""The registry's one pipeline: any retrain target retrains through the same gate; version names never collide."""

import json

import pytest
from sqlalchemy.exc import IntegrityError

from ml.kinds import ModelKind
from webapp.extensions import db
from webapp.jobs.runner import execute_job
from webapp.registry import model_kinds, versions
from webapp.registry.model_kinds import Candidate, ModelKindPlugin
from webapp.storage.store import saving, storage
from webapp.tables import Job, ModelVersion


class EchoModel:
    """An echo model folder, loaded: nothing but its path."""

    def __init__(self, folder):
        self.folder = folder

    @classmethod
    def load(cls, folder):
        return cls(folder)


class EchoRetrain:
    """A new retrain target in a dozen lines: it 'trains' by writing a model folder and passes when told to."""

    name, label = "echo", "style"

    def __init__(self, passed: bool):
        self.passed = passed

    def owns(self, target):
        return target == "echo"

    def check_request(self, target):
        return None

    def deployed(self, target):
        return versions.deployed(target)

    def new_feedback_since(self, target, since):
        return 1

    def train(self, target, job, ctx, workdir, current):
        model = workdir / "model"
        model.mkdir()
        (model / "meta.json").write_text(json.dumps({"kind": "echo", "name": "echo"}))
        ctx.progress(0.5, "trained")
        verdict = "passes" if self.passed else "fails"
        return Candidate(
            model_dir=model,
            metrics={"score": 1.0},
            compared={"score": 2.0},
            passed=self.passed,
            reason=f"echo {verdict}",
            data_counts={"pairs": 3},
        )


@pytest.mark.parametrize("passed", [True, False])
def test_a_new_retrain_target_retrains_through_the_gate(app, client, admin, passed):
    echo = ModelKind("echo", lambda: EchoModel, lambda model, inputs: inputs)
    undo = model_kinds.register(ModelKindPlugin(echo, retrain=EchoRetrain(passed)))
    try:
        _retrain_echo(app, client, admin, passed)
    finally:
        undo()


def _retrain_echo(app, client, admin, passed):
    response = client.post("/api/admin/retrain", json={"style": "echo"}, headers=admin)
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]
    busy = client.post("/api/admin/retrain", json={"style": "echo"}, headers=admin)
    assert busy.status_code == 409 and busy.json["job_id"] == job_id
    with app.app_context():
        execute_job(job_id)
    job = client.get(f"/api/admin/jobs/{job_id}", headers=admin).json
    assert job["status"] == "done", job
    assert job["result"]["model_version"] == "v1" and job["result"]["promoted"] is passed
    assert job["result"]["reason"] == f"echo {'passes' if passed else 'fails'}"
    assert job["result"]["compared_with"] == {"model_version": None, "metrics": {"score": 2.0}}
    listed = client.get("/api/admin/models/echo", headers=admin).json
    assert [(m["version"], m["deployed"]) for m in listed] == [("v1", passed)]


def test_unknown_targets_and_fixed_presets_are_refused_before_queueing(app, client, admin):
    unknown = client.post("/api/admin/retrain", json={"style": "nonesuch"}, headers=admin)
    assert unknown.status_code == 404 and "nonesuch" in unknown.json["error"]
    task_named_as_style = client.post(
        "/api/admin/retrain", json={"task": "arbitrary"}, headers=admin
    )
    assert task_named_as_style.status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Job.id))) == 0


def _register(target: str, folder, version=None) -> ModelVersion:
    with saving() as new_keys:
        return versions.register_version(target, "echo", folder, new_keys, version=version)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text("{}")
    return tmp_path / "m"


def test_version_is_one_above_the_highest_not_the_count(app, folder):
    with app.app_context():
        _register("echo", folder)
        second = _register("echo", folder)
        db.session.delete(
            db.session.scalar(db.select(ModelVersion).where(ModelVersion.version == "v1"))
        )
        db.session.commit()
        assert second.version == "v2" and _register("echo", folder).version == "v3"


def test_a_version_taken_meanwhile_moves_to_the_next_and_leaves_no_object(
    any_db_app, folder, monkeypatch
):
    app = any_db_app
    with app.app_context():
        _register("echo", folder)
        real = versions.next_version
        calls = []

        def racing(target):  # another process registers v2 between our choice and our insert
            name = real(target)
            if not calls:
                calls.append(name)
                _register("echo", folder, version=name)
            return name

        monkeypatch.setattr(versions, "next_version", racing)
        mv = _register("echo", folder)
        assert (calls, mv.version) == (["v2"], "v3")
        rows = db.session.scalars(
            db.select(ModelVersion.storage_key).where(ModelVersion.target == "echo")
        ).all()
        assert len(rows) == 3 and len(set(rows)) == 3
        assert set(storage().list("models/echo/")) == set(
            rows
        )  # the winner's object kept, no orphan
        with pytest.raises(IntegrityError):  # an explicit name is the caller's to handle
            _register("echo", folder, version="v1")
