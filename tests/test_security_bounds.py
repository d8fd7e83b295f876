"""Issue 20: uploads that cost seconds, unbounded storage, deleting one's photo, and the smaller leaks."""

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
    from webapp.models import Stylization

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
