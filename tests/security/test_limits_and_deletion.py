"""Uploads that cost seconds, unbounded storage, deleting one's photo, and the smaller leaks."""

import io
import time

from PIL import Image as PILImage

from tests.conftest import build_app, image_bytes, make_config


def png(width: int, height: int, mode: str = "L") -> bytes:
    out = io.BytesIO()
    PILImage.new(mode, (width, height)).save(out, format="PNG")
    return out.getvalue()


def post(client, data: bytes, name: str = "p.png", **extra):
    return client.post(
        "/api/classify",
        data={"image": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        **extra,
    )


def test_a_thin_16_megapixel_png_is_refused_from_its_header_in_milliseconds(client):
    blob = png(16_000_000, 1)  # the reproduction: a grey line, 31 KB on the wire
    assert len(blob) < 40_000
    post(client, image_bytes())  # the first request loads the model: not part of the bound
    started = time.perf_counter()
    response = post(client, blob)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert "16000000x1" in response.json["error"] and "too long" in response.json["error"]
    assert elapsed < 0.5, elapsed


def test_sides_and_shape_are_limited_as_well_as_pixels(tmp_path):
    app = build_app(make_config(tmp_path, MAX_IMAGE_SIDE=500, MAX_IMAGE_ASPECT=4))
    client = app.test_client()
    too_long = post(client, png(600, 300))
    assert too_long.status_code == 400 and "at most 500 pixels" in too_long.json["error"]
    too_thin = post(client, png(450, 100))
    assert too_thin.status_code == 400
    assert "4 times the shorter" in too_thin.json["error"] and "crop" in too_thin.json["error"]
    assert post(client, png(400, 100)).status_code == 200  # 4:1 on the limit is a photo


def test_a_form_of_too_many_parts_is_named_as_such(client):
    fields = {f"f{i}": "x" for i in range(1500)}
    fields["image"] = (io.BytesIO(image_bytes()), "p.jpg")
    response = client.post("/api/classify", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too many fields" in response.json["error"] and "MB" not in response.json["error"]
    big = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(b"\xff" * (11 * 1024 * 1024)), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert big.status_code == 413 and "larger than 10 MB" in big.json["error"]


def test_metrics_need_the_token_or_an_admin_unless_opened(tmp_path):
    closed = build_app(make_config(tmp_path / "a", METRICS_TOKEN="t0ken-123"))
    client = closed.test_client()
    refused = client.get("/metrics", headers={"Accept": "application/json"})
    assert refused.status_code == 401 and "METRICS_TOKEN" in refused.json["error"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer t0ken-123"})
    assert ok.status_code == 200 and "celebvision_images" in ok.get_data(as_text=True)
    opened = build_app(make_config(tmp_path / "b", METRICS_PUBLIC=True))
    assert opened.test_client().get("/metrics").status_code == 200


def test_metrics_answer_an_admin(client, admin):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=admin).status_code == 200


def test_a_failed_stylization_shows_no_exception_text_to_the_public(app, client, admin):
    from webapp.extensions import db
    from webapp.tables import Stylization

    sid = client.post(
        "/api/stylize",
        data={
            "content": (io.BytesIO(image_bytes(seed=1)), "c.jpg"),
            "style": (io.BytesIO(image_bytes(seed=2)), "s.png"),
        },
        content_type="multipart/form-data",
    ).json["id"]
    leak = (
        "Stylization failed: Registering two gradient with name 'ReduceDataset' "
        "(/work/app/.venv/lib/python3.11/site-packages/tensorflow/python/framework/ops.py)"
    )
    with app.app_context():
        row = db.session.scalar(db.select(Stylization).where(Stylization.public_id == sid))
        row.job.status, row.job.error = "failed", leak
        db.session.commit()
    stranger = app.test_client().get(f"/api/stylize/{sid}").json
    owner = client.get(f"/api/stylize/{sid}").json
    for seen in (stranger, owner):
        assert seen["status"] == "failed"
        assert "ReduceDataset" not in seen["error"] and "/work" not in seen["error"]
        assert "job log" in seen["error"]
    assert client.get(f"/api/stylize/{sid}", headers=admin).json["error"] == leak


def classify(client, seed: int = 0, **extra) -> str:
    response = post(client, image_bytes(seed=seed), "p.jpg", **extra)
    assert response.status_code == 200, response.json
    return response.json["id"]


def stylize(client, seed: int = 1, **extra) -> str:
    response = client.post(
        "/api/stylize",
        data={
            "content": (io.BytesIO(image_bytes(seed=seed)), "c.jpg"),
            "style": (io.BytesIO(image_bytes(seed=seed + 100)), "s.png"),
        },
        content_type="multipart/form-data",
        **extra,
    )
    assert response.status_code == 202, response.json
    return response.json["id"]


# What a deletion must leave of a user's records: nothing.
NOTHING_LEFT = dict.fromkeys(("Classification", "Feedback", "Image", "Rating", "Stylization"), 0)


def counts(app) -> dict:
    from webapp.extensions import db
    from webapp.tables import Classification, Feedback, Image, Rating, Stylization

    with app.app_context():
        return {
            model.__name__: db.session.scalar(db.select(db.func.count(model.id)))
            for model in (Classification, Feedback, Image, Rating, Stylization)
        }


def stored_files(app) -> set[str]:
    from pathlib import Path

    root = Path(app.config["STORAGE_URL"].removeprefix("file://"))
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_the_uploader_deletes_a_classification_and_its_labels_and_picture(app, client, admin):
    before = stored_files(app)
    cid = classify(client, seed=5)
    assert client.post(f"/api/classify/{cid}/feedback", json={"label": "male"}).status_code == 201
    assert len(stored_files(app) - before) == 1
    stranger = app.test_client().delete(f"/api/classify/{cid}")
    assert stranger.status_code == 403 and "uploaded" in stranger.json["error"]
    response = client.delete(f"/api/classify/{cid}")
    assert response.status_code == 204 and response.data == b""
    assert counts(app) == NOTHING_LEFT
    assert stored_files(app) == before
    assert client.delete(f"/api/classify/{cid}").status_code == 404
    (event,) = client.get("/api/admin/audit-events", headers=admin).json
    assert event["action"] == "delete" and event["subject"] == f"classification:{cid}"
    assert event["actor"] == "uploader" and event["detail"]["labels"] == 1


def test_a_picture_someone_else_uploaded_too_stays_for_them(app, client):
    mine, theirs = classify(client, seed=6), classify(app.test_client(), seed=6)
    assert client.delete(f"/api/classify/{mine}").status_code == 204
    assert counts(app)["Image"] == 1
    assert counts(app)["Classification"] == 1
    from webapp.extensions import db
    from webapp.tables import Classification

    with app.app_context():  # their classification still has its picture
        row = db.session.scalar(db.select(Classification).where(Classification.public_id == theirs))
        assert app.extensions["storage"].get(row.image.storage_key)


def test_delete_quota_and_retention_on_postgresql(pg_app):
    client = pg_app.test_client()
    cid = classify(client, seed=7)
    assert client.post(f"/api/classify/{cid}/feedback", json={"label": "male"}).status_code == 201
    assert client.delete(f"/api/classify/{cid}").status_code == 204
    sid = stylize(client)
    assert client.delete(f"/api/stylize/{sid}").status_code == 204
    assert counts(pg_app) == {
        "Classification": 0,
        "Feedback": 0,
        "Image": 0,
        "Rating": 0,
        "Stylization": 0,
    }
    result = pg_app.test_cli_runner().invoke(args=["data", "prune-uploads", "--days", "1"])
    assert result.exit_code == 0 and "Deleted 0 unlabelled" in result.output


def test_deleting_a_stylization_takes_its_result_ratings_and_pictures(app, client, admin):
    from webapp.extensions import db
    from webapp.tables import Stylization

    before = stored_files(app)
    sid = stylize(client)
    with app.app_context():
        row = db.session.scalar(db.select(Stylization).where(Stylization.public_id == sid))
        app.extensions["storage"].put("results/x.png", b"png", content_type="image/png")
        row.result_key, row.job.status = "results/x.png", "done"
        db.session.commit()
    assert client.post(f"/api/stylize/{sid}/rating", json={"stars": 4}).status_code == 201
    assert app.test_client().delete(f"/api/stylize/{sid}").status_code == 403
    assert client.delete(f"/api/stylize/{sid}", headers=admin).status_code == 204  # an admin may
    assert counts(app) == NOTHING_LEFT
    assert stored_files(app) == before
    assert client.get(f"/api/stylize/{sid}").status_code == 404
    (event,) = client.get("/api/admin/audit-events?action=delete", headers=admin).json
    assert event["actor"] == "root" and event["detail"]["ratings"] == 1


def test_deleting_a_queued_stylization_cancels_its_job(app, client):
    from webapp.extensions import db
    from webapp.tables import Job

    sid = stylize(client)
    assert client.delete(f"/api/stylize/{sid}").status_code == 204
    with app.app_context():
        (job,) = db.session.scalars(db.select(Job)).all()
        assert job.status == "failed" and job.error == "Cancelled."


def test_a_client_over_its_storage_quota_is_told_how_to_free_room(tmp_path):
    app = build_app(make_config(tmp_path, STORAGE_QUOTA_MB=0.1))
    client = app.test_client()
    sizes = []
    for seed in range(20):
        response = post(client, image_bytes(size=(160, 120), seed=seed), "p.jpg")
        if response.status_code != 200:
            break
        sizes.append(response.json["id"])
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert (
        "Storage quota" in response.json["error"]
        and "DELETE /api/classify" in response.json["error"]
    )
    assert 1 < len(sizes) < 20
    other = app.test_client()  # another cookie from the same address: the address is counted too
    assert post(other, image_bytes(size=(160, 120), seed=99), "p.jpg").status_code == 429
    elsewhere = post(other, image_bytes(seed=98), "p.jpg", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 200
    assert client.delete(f"/api/classify/{sizes[0]}").status_code == 204  # deleting frees room
    assert post(client, image_bytes(size=(160, 120), seed=50), "p.jpg").status_code == 200


def test_retention_deletes_old_unlabelled_uploads_only(app, client, runner, admin):
    import datetime as dt

    from webapp.extensions import db
    from webapp.tables import Classification, Stylization

    old_unlabelled, old_labelled, new = (
        classify(client, 1),
        classify(client, 2),
        classify(client, 3),
    )
    assert (
        client.post(f"/api/classify/{old_labelled}/feedback", json={"label": "male"}).status_code
        == 201
    )
    old_styled = stylize(client, 10)
    with app.app_context():
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
        for model, pid in (
            (Classification, old_unlabelled),
            (Classification, old_labelled),
            (Stylization, old_styled),
        ):
            row = db.session.scalar(db.select(model).where(model.public_id == pid))
            row.created = long_ago
            if model is Stylization:
                row.job.status = "done"
        db.session.commit()
    dry = runner.invoke(args=["data", "prune-uploads", "--dry-run"])
    assert dry.exit_code == 0 and "Would delete 1 unlabelled classifications and 1" in dry.output
    result = runner.invoke(args=["data", "prune-uploads"])
    assert result.exit_code == 0, result.output
    assert (
        "Deleted 1 unlabelled classifications and 1 stylizations older than 30 days"
        in result.output
    )
    with app.app_context():
        left = set(db.session.scalars(db.select(Classification.public_id)))
        assert left == {old_labelled, new}
        assert db.session.scalar(db.select(db.func.count(Stylization.id))) == 0
    (event,) = client.get("/api/admin/audit-events?action=prune", headers=admin).json
    assert event["actor"] == "retention" and event["detail"]["classifications"] == 1
    bad = runner.invoke(args=["data", "prune-uploads", "--days", "-1"])
    assert bad.exit_code != 0 and "--days" in bad.output
