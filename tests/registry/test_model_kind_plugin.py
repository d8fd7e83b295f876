"""A model kind is one plugin: a toy kind registered by this test alone (one line) is trained,
registered, served, retrained through the gate and rolled back through the real app."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from ml import train as ml_train
from ml.common.modeldir import read_meta, write_meta
from ml.kinds import ModelKind
from ml.style.methods import StyleMethod, StyleResult
from webapp.extensions import db
from webapp.jobs.runner import execute_job
from webapp.registry import model_kinds, versions
from webapp.registry.model_kinds import Candidate, ModelKindPlugin
from webapp.tables import Stylization

GOAL = 200  # the grey the toy kind's judge wants


class Flat:
    """A toy model: it paints every photo one flat grey, its `level`."""

    def __init__(self, level: float):
        self.level = level

    @classmethod
    def load(cls, folder):
        return cls(float(read_meta(folder)["level"]))


def _paint(call, model: Flat) -> StyleResult:
    photo = np.asarray(call.content, np.float64)
    flat = np.full_like(photo, model.level)
    return StyleResult((call.strength * flat + (1 - call.strength) * photo).astype(np.uint8))


def _train(config, data_dir, out_dir, *, progress=None, should_stop=None, seed=0, **overrides):
    """Learn the mean grey of the pictures in `data_dir`."""
    pixels = [
        np.asarray(PILImage.open(p).convert("RGB")) for p in sorted(Path(data_dir).glob("*.png"))
    ]
    level = float(np.mean([p.mean() for p in pixels]))
    write_meta(out_dir, {"kind": "toy", "name": config.get("name", "toy"), "level": level})
    return {"level": level}


def _finetune(model_dir, out_dir):
    """Move the deployed grey halfway to the goal."""
    level = float(read_meta(model_dir)["level"])
    write_meta(out_dir, {"kind": "toy", "name": "toy", "level": (level + GOAL) / 2})


class ToyRetrain:
    """Retrains a toy target: fine-tunes the deployed folder, judged by the distance to GOAL."""

    name, label = "toy", "style"

    def owns(self, target):
        return versions.latest_kind(target) == self.name

    def check_request(self, target):
        return None

    def deployed(self, target):
        return versions.deployed(target)

    def new_feedback_since(self, target, since):
        return 0

    def train(self, target, job, ctx, workdir, current):
        TOY.finetune()(versions.local_dir(current), workdir / "model")
        level = float(read_meta(workdir / "model")["level"])
        was = float(read_meta(versions.local_dir(current))["level"])
        passed = abs(level - GOAL) <= abs(was - GOAL)
        return Candidate(
            model_dir=workdir / "model",
            metrics={"distance": abs(level - GOAL)},
            compared={"distance": abs(was - GOAL)},
            passed=passed,
            reason=f"grey {level:.0f} vs {was:.0f}, the goal {GOAL}",
            data_counts={},
        )


TOY = ModelKind(
    "toy",
    lambda: Flat,
    train=lambda: _train,
    finetune=lambda: _finetune,
    takes_overrides=False,
    method=StyleMethod("toy", "Flat grey '{name}'.", _paint, model_kind="toy", strength=1.0),
)


@pytest.fixture
def toy():
    undo = model_kinds.register(ModelKindPlugin(TOY, retrain=ToyRetrain()))  # the one line
    yield TOY
    undo()


def _png(value: int, side: int = 64) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (side, side), (value,) * 3).save(out, format="PNG")
    return out.getvalue()


def _served_grey(app, client) -> float:
    """Stylize a photo with the toy target through the API and the job; its result's mean grey."""
    form = {"content": (io.BytesIO(_png(250)), "me.png"), "method": "greys", "size": "64"}
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    sid = response.json["id"]
    with app.app_context():
        job_id = db.session.scalar(
            db.select(Stylization.job_id).where(Stylization.public_id == sid)
        )
        execute_job(job_id)
    status = client.get(f"/api/stylize/{sid}").json
    assert status["status"] == "done", status
    return float(
        np.asarray(PILImage.open(io.BytesIO(client.get(status["result_url"]).data))).mean()
    )


def test_a_toy_model_kind_is_trained_registered_served_retrained_and_rolled_back(
    app, client, admin, runner, toy, tmp_path
):
    data = tmp_path / "data"
    data.mkdir()
    for i, value in enumerate((30, 50)):
        (data / f"{i}.png").write_bytes(_png(value))
    summary = ml_train.train({"kind": "toy", "name": "greys"}, data, tmp_path / "model")
    assert summary == {"level": 40.0}
    assert json.loads((tmp_path / "model" / "meta.json").read_text())["kind"] == "toy"

    done = runner.invoke(args=["models", "register", "greys", str(tmp_path / "model")])
    assert done.exit_code == 0 and "greys: v1 deployed" in done.output, done.output
    listed = {s["method"]: s for s in client.get("/api/styles").json}
    assert (
        listed["greys"]["model_version"] == "v1" and listed["greys"]["needs_style_image"] is False
    )
    assert _served_grey(app, client) == pytest.approx(40, abs=1)

    response = client.post("/api/admin/retrain", json={"style": "greys"}, headers=admin)
    assert response.status_code == 202, response.json
    with app.app_context():
        execute_job(response.json["job_id"])
    job = client.get(f"/api/admin/jobs/{response.json['job_id']}", headers=admin).json
    assert job["status"] == "done", job
    assert job["result"]["model_version"] == "v2" and job["result"]["promoted"] is True
    assert job["result"]["compared_with"] == {"model_version": "v1", "metrics": {"distance": 160.0}}
    assert _served_grey(app, client) == pytest.approx(120, abs=1)

    back = client.post("/api/admin/models/greys/rollback", headers=admin)
    assert back.status_code == 200, back.json
    assert _served_grey(app, client) == pytest.approx(40, abs=1)
    models = client.get("/api/admin/models/greys", headers=admin).json
    assert [(m["version"], m["deployed"]) for m in models] == [("v2", False), ("v1", True)]


def test_without_its_plugin_the_kind_is_unknown(app, runner, tmp_path):
    write_meta(tmp_path / "model", {"kind": "toy", "name": "greys", "level": 1.0})
    done = runner.invoke(args=["models", "register", "greys", str(tmp_path / "model")])
    assert done.exit_code != 0 and "known model kind" in done.output, done.output
