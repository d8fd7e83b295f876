"""The pretrained fast style methods in the product: listed from the first start, registered as
v1 once, stylizing through the real worker, their presets shown, and `arbitrary` retrained from
ratings behind the judge's gate with a rollback to v1."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from ml.style.methods import ARBITRARY_DEFAULT_STRENGTH, NST_DEFAULT_STRENGTH
from tests.http_helpers import retrain
from tests.services import Worker, wait_for

pytestmark = pytest.mark.slow


def png(name: str, side: int = 96) -> bytes:
    """An scikit-image sample picture as a PNG, longest side `side`."""
    from skimage import data

    picture = PILImage.fromarray(getattr(data, name)()).convert("RGB")
    picture.thumbnail((side, side))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def post(client, content="astronaut", style="coffee", **fields):
    form = {"content": (io.BytesIO(png(content)), "photo.png"), **fields}
    if style:
        form["style"] = (io.BytesIO(png(style)), "style.png")
    return client.post("/api/stylize", data=form, content_type="multipart/form-data")


@pytest.fixture(scope="session")
def pretrained_cache():
    """The converted copy of the wheel's networks every test app shares (each registers its own v1)."""
    from tests.conftest import PRETRAINED_CACHE

    return PRETRAINED_CACHE


@pytest.fixture
def config(tmp_path, pretrained_cache):
    from tests.conftest import make_config

    return make_config(tmp_path, PRETRAINED_CACHE_DIR=str(pretrained_cache))


@pytest.fixture
def env(app, pretrained_cache):
    from tests.services import app_env

    return {
        **app_env(app.config),
        "PRETRAINED_CACHE_DIR": str(pretrained_cache),
        "STYLE_WARMUP": "1",
    }


def styles(client) -> dict:
    response = client.get("/api/styles")
    assert response.status_code == 200
    return {s["method"]: s for s in response.json}


# ---------------------------------------------------------------- the API, before any worker ran


def test_fresh_install_lists_fast_methods_with_honest_descriptions(client):
    listed = client.get("/api/styles").json
    assert [s["method"] for s in listed][:3] == ["arbitrary", "preset", "nst"]
    by = {s["method"]: s for s in listed}
    assert (
        by["arbitrary"]["needs_style_image"] is True and by["preset"]["needs_style_image"] is False
    )
    # the page says plainly when to use Classic and when Fast
    assert "minute" in by["nst"]["description"] and "Choose Fast" in by["nst"]["description"]
    # the defaults measured to keep the subject (bench/style_calibrate.py)
    assert by["arbitrary"]["default_strength"] == ARBITRARY_DEFAULT_STRENGTH < 1.0
    assert by["nst"]["default_strength"] == NST_DEFAULT_STRENGTH > 0.5  # painted, not the photo
    assert isinstance(by["preset"]["presets"], list)
    assert all(s["expected_seconds"] == {} for s in listed)  # no job timed here yet


def test_stylize_defaults_to_arbitrary_and_checks_the_preset_field(client):
    from webapp.extensions import db
    from webapp.tables import Stylization

    response = post(client)
    assert response.status_code == 202, response.json
    with client.application.app_context():
        row = db.session.scalar(db.select(Stylization).order_by(Stylization.id.desc()))
        assert row.method == "arbitrary"
        assert row.params == {"strength": ARBITRARY_DEFAULT_STRENGTH, "size": 512}

    no_style = post(client, style=None)
    assert no_style.status_code == 400 and "style image" in no_style.json["error"]
    missing = post(client, style=None, method="preset")
    assert missing.status_code == 400 and "needs 'preset'" in missing.json["error"]
    for bad in ("99", "-1", "abc", "1.5"):
        answer = post(client, style=None, method="preset", preset=bad)
        assert answer.status_code == 400, (bad, answer.json)
        assert "preset" in answer.json["error"] and "1 to 26" in answer.json["error"], answer.json
    wrong_method = post(client, method="arbitrary", preset="3")
    assert wrong_method.status_code == 400 and "method 'preset' only" in wrong_method.json["error"]
    ok = post(client, style=None, method="preset", preset="3")
    assert ok.status_code == 202, ok.json


def test_retrain_api_knows_arbitrary_and_refuses_preset(client, admin, runner):
    refused = client.post("/api/admin/retrain", json={"style": "preset"}, headers=admin)
    assert refused.status_code == 400 and "fixed" in refused.json["error"]
    queued = runner.invoke(args=["retrain", "arbitrary"])
    assert queued.exit_code == 0 and "Queued job" in queued.output, queued.output
    again = client.post("/api/admin/retrain", json={"style": "arbitrary"}, headers=admin)
    assert again.status_code == 409 and again.json["job_id"]


def test_queue_is_polled_at_a_short_fixed_interval(app):
    from webapp.jobs.worker import poll_settings

    settings = poll_settings(app)
    assert settings["backoff"] == 1.0 and settings["initial_delay"] == settings["max_delay"] <= 0.1


def test_gate_promotes_only_when_not_worse():
    from types import SimpleNamespace

    from webapp.style.retrain import decide_arbitrary, rating_weight

    v1 = SimpleNamespace(version="v1")
    deployed = {"style_ratio": 0.10, "content": 0.50, "score": 0.60, "n": 3}
    better = {"style_ratio": 0.08, "content": 0.50, "score": 0.58, "n": 3}
    worse = {"style_ratio": 0.20, "content": 0.50, "score": 0.70, "n": 3}
    ok, reason = decide_arbitrary(better, v1, deployed)
    assert ok and "not worse than deployed v1" in reason
    ok, reason = decide_arbitrary(worse, v1, deployed)
    assert not ok and "worse than deployed v1" in reason and "v1 stays" in reason
    assert [rating_weight(s) for s in ([], [5], [4, 5], [3], [2, 3], [2], [1, 2])] == [
        1,
        3,
        3,
        1,
        1,
        0,
        0,
    ]


# ---------------------------------------------------------------- with the networks


def test_fast_methods_through_the_worker_then_retrained_from_ratings_and_rolled_back(
    app, client, admin, env, tmp_path
):
    """Stylize with both fast methods through a real worker (presets' thumbnails appear, waits are
    counted), rate the pictures, retrain arbitrary on a train worker, then roll back to v1."""
    pictures = [
        ("astronaut", "coffee", 5),
        ("chelsea", "immunohistochemistry", 4),
        ("rocket", "coffee", 1),
        ("coffee", "chelsea", None),
    ]
    ids = [post(client, content, style, size="128").json["id"] for content, style, _ in pictures]
    preset_id = post(client, style=None, method="preset", preset="5", size="128").json["id"]
    worker = Worker(env, "style", tmp_path / "style.log").start()
    try:
        done = {}
        for sid in ids + [preset_id]:
            done[sid] = wait_for(
                lambda sid=sid: (
                    (s := client.get(f"/api/stylize/{sid}").json)["status"] in ("done", "failed")
                    and s
                ),
                600,
                interval=0.2,
                message="a fast stylization",
            )
            assert done[sid]["status"] == "done", (done[sid], worker.output()[-3000:])
        presets = styles(client)["preset"]["presets"]
        assert len(presets) == 26 and presets[7]["name"]
        image = wait_for(
            lambda: (r := client.get(presets[7]["thumbnail_url"])).status_code == 200 and r,
            120,
            interval=0.5,
            message="the preset thumbnails",
        )
    finally:
        worker.stop()
    assert image.mimetype == "image/jpeg" and PILImage.open(io.BytesIO(image.data)).size == (
        160,
        160,
    )
    assert client.get("/api/styles/preset/27/thumbnail.jpg").status_code == 404
    assert client.get("/api/styles/preset/0/thumbnail.jpg").status_code == 404
    assert [p["id"] for p in presets] == list(range(1, 27))  # the numbers the page shows
    photo = np.asarray(
        PILImage.open(io.BytesIO(png("astronaut"))).convert("RGB").resize((128, 128)), float
    )
    for sid in (ids[0], preset_id):
        result = PILImage.open(io.BytesIO(client.get(done[sid]["result_url"]).data)).convert("RGB")
        assert result.size == (128, 128)
        assert np.abs(np.asarray(result, float) - photo).mean() > 10, done[sid]  # visibly repainted
    assert done[preset_id]["method"] == "preset" and done[ids[0]]["method"] == "arbitrary"
    # the result says which style it used, by the page's number and name
    assert done[preset_id]["preset"] == {"id": 5, "name": presets[4]["name"]}
    assert done[preset_id]["strength"] == presets[4]["default_strength"]
    assert done[ids[0]]["preset"] is None
    listed = styles(client)
    assert listed["arbitrary"]["expected_seconds"]["128"]["jobs"] == 4
    assert listed["preset"]["expected_seconds"]["128"]["seconds"] > 0
    for sid, (_, _, stars) in zip(ids, pictures):
        if stars:
            assert (
                client.post(f"/api/stylize/{sid}/rating", json={"stars": stars}).status_code == 201
            )

    env = {
        **env,
        "STYLE_FINETUNE_STEPS": "2",
        "STYLE_FINETUNE_SIZE": "64",
        "STYLE_JUDGE_SIZE": "64",
    }
    trainer = Worker(env, "train", tmp_path / "train.log").start()
    try:
        job = retrain(client, admin, 600, style="arbitrary")
    finally:
        trainer.stop()
    assert job["status"] == "done", (job, trainer.output()[-3000:])
    result = job["result"]
    assert result["model_version"] == "v2" and result["compared_with"]["model_version"] == "v1"
    assert result["data_counts"]["pairs"] == 3 and result["data_counts"]["left_out_low_rating"] == 1
    candidate, deployed = result["metrics"], result["compared_with"]["metrics"]
    assert result["promoted"] == (candidate["score"] <= deployed["score"] + 1e-9), result
    assert ("not worse" in result["reason"]) == result["promoted"] and "fixed pairs" in result[
        "reason"
    ]
    assert styles(client)["arbitrary"]["model_version"] == ("v2" if result["promoted"] else "v1")

    if not result["promoted"]:  # an admin may still deploy it by hand
        assert (
            client.post("/api/admin/models/arbitrary/v2/promote", headers=admin).status_code == 200
        )
    rolled = client.post("/api/admin/models/arbitrary/rollback", headers=admin)
    assert rolled.status_code == 200 and rolled.json["deployed"] == "v1"
    versions = {
        v["version"]: v for v in client.get("/api/admin/models/arbitrary", headers=admin).json
    }
    assert (
        versions["v1"]["deployed"]
        and not versions["v2"]["deployed"]
        and versions["v2"]["parent"] == "v1"
    )
    assert styles(client)["arbitrary"]["model_version"] == "v1"


@pytest.fixture(params=["sqlite", "postgresql"])
def racing_app(request, tmp_path, pretrained_cache):
    """An app on SQLite or on a fresh PostgreSQL database."""
    from tests.conftest import build_app, make_config
    from tests.services import fresh_postgres_database

    overrides = {"PRETRAINED_CACHE_DIR": str(pretrained_cache)}
    drop = None
    if request.param == "postgresql":
        url, drop = fresh_postgres_database()
        overrides["SQLALCHEMY_DATABASE_URI"] = url
    app = build_app(make_config(tmp_path, **overrides))
    yield app
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()
    if drop:
        drop()


def test_pretrained_versions_register_once_even_when_processes_race(racing_app, pretrained_cache):
    """Two processes register both networks at the same moment: one v1 each, deployed."""
    from tests.services import app_env, race

    app = racing_app
    env = {**app_env(app.config), "PRETRAINED_CACHE_DIR": str(pretrained_cache)}
    script = (
        "from webapp import create_app\nfrom webapp.style.builtin import ensure\napp = create_app()\n"
        "with app.app_context():\n    print(ensure('arbitrary').version, ensure('preset').version)\n"
    )
    assert set(race(script, env)) == {"v1 v1"}
    from webapp.extensions import db
    from webapp.tables import Deployment, ModelVersion

    with app.app_context():
        rows = db.session.execute(
            db.select(ModelVersion.target, ModelVersion.version, ModelVersion.created_by)
        ).all()
        assert sorted(rows) == [("arbitrary", "v1", "pretrained"), ("preset", "v1", "pretrained")]
        assert db.session.scalar(db.select(db.func.count(Deployment.id))) == 2
        keys = {mv.storage_key for mv in db.session.scalars(db.select(ModelVersion))}
        from webapp.storage.store import storage

        assert all(
            storage().exists(k) for k in keys
        )  # a losing racer never deleted the winner's file
    listed = styles(app.test_client())
    assert (
        listed["arbitrary"]["model_version"] == "v1" and listed["preset"]["model_version"] == "v1"
    )
