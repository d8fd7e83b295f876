"""Cheap denial of service: huge pictures and unbounded job queues from one client."""

import io
import time

from PIL import Image as PILImage

from tests.conftest import build_app, image_bytes, make_config


def huge_png(width: int, height: int) -> bytes:
    """A tiny file that decodes to width x height pixels (1-bit, so the test itself stays cheap)."""
    out = io.BytesIO()
    PILImage.new("1", (width, height)).save(out, format="PNG")
    return out.getvalue()


def test_large_pixel_counts_refused_cheaply(client):
    blob = huge_png(6300, 6300)
    assert len(blob) < 200_000
    started = time.perf_counter()
    response = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(blob), "big.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "megapixels" in response.json["error"]
    assert time.perf_counter() - started < 2.0


def test_pixel_cap_is_configurable(tmp_path):
    app = build_app(make_config(tmp_path, MAX_IMAGE_PIXELS=1000))
    picture = image_bytes(size=(40, 40))
    response = app.test_client().post(
        "/api/classify",
        data={"image": (io.BytesIO(picture), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "40x40" in response.json["error"]


def stylize(client, address: str, agent: str = "x"):
    fields = {
        "content": (io.BytesIO(image_bytes(seed=1)), "c.jpg"),
        "style": (io.BytesIO(image_bytes(seed=2)), "s.png"),
        "size": "1024",
    }
    return client.post(
        "/api/stylize",
        data=fields,
        content_type="multipart/form-data",
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )


def test_queued_jobs_per_client_are_capped(tmp_path):
    app = build_app(make_config(tmp_path, MAX_QUEUED_PER_CLIENT=2))
    codes = [stylize(app.test_client(), "10.6.6.6", agent).status_code for agent in ("a", "b")]
    assert codes == [202, 202]
    refused = stylize(
        app.test_client(), "10.6.6.6", "c"
    )  # fresh cookie, new user agent, same address
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "waiting" in refused.json["error"]
    assert stylize(app.test_client(), "10.0.0.2").status_code == 202  # someone else is not blocked

    from webapp.extensions import db
    from webapp.tables import Stylization

    with app.app_context():  # once one of hers is done she may queue another
        row = db.session.scalars(db.select(Stylization).order_by(Stylization.id)).first()
        row.job.status = "done"  # as the worker ends it
        db.session.commit()
    assert stylize(app.test_client(), "10.6.6.6").status_code == 202
