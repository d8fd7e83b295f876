"""Upload validation: only JPEG/PNG/WebP, no bombs, no metadata kept, never a 500."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image as PILImage

from tests.conftest import image_bytes

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "hostile-images"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason=f"hostile-image corpus not found at {CORPUS} "
    "(it sits beside the checkout in CI; a newcomer's clone lacks it)",
)


def post_image(client, data: bytes, name="photo.jpg", task="gender"):
    return client.post(
        "/api/classify",
        data={"image": (io.BytesIO(data), name), "task": task},
        content_type="multipart/form-data",
    )


def exif_with_gps_and_orientation() -> bytes:
    im = PILImage.new("RGB", (60, 30), (200, 10, 10))
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 0.0)}  # GPS
    out = io.BytesIO()
    im.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_allowed_formats_accepted(client, fmt):
    response = post_image(client, image_bytes(fmt), name=f"x.{fmt.lower()}")
    assert response.status_code == 200, response.json
    assert response.json["task"] == "gender"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO"])
def test_other_formats_refused_even_when_named_jpg(client, fmt):
    response = post_image(client, image_bytes(fmt, size=(32, 32)), name="photo.jpg")
    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in response.json["error"]


def test_truncated_jpeg_refused(client):
    data = image_bytes("JPEG", size=(300, 300))
    response = post_image(client, data[: len(data) // 2])
    assert response.status_code == 400
    assert "truncated or corrupt" in response.json["error"]


def test_text_file_refused(client):
    response = post_image(client, b"hello, this is not a picture\n" * 20, name="notes.png")
    assert response.status_code == 400


def test_empty_and_missing_file(client):
    assert post_image(client, b"").status_code == 400
    response = client.post(
        "/api/classify", data={"task": "gender"}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "form field 'image'" in response.json["error"]


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size over a tiny body: a decompression bomb."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_refused(client):
    response = post_image(client, png_header_claiming(50_000, 50_000), name="bomb.png")
    assert response.status_code == 400
    assert "too large" in response.json["error"] or "too many pixels" in response.json["error"]


def test_over_max_upload_is_413(tmp_path):
    from tests.conftest import build_app, make_config

    app = build_app(make_config(tmp_path, MAX_CONTENT_LENGTH=50_000, MAX_UPLOAD_MB=0.05))
    response = post_image(app.test_client(), image_bytes("PNG", size=(400, 400)))
    assert response.status_code == 413
    assert "MB" in response.json["error"]


def test_exif_orientation_applied_and_metadata_stripped(app, client):
    response = post_image(client, exif_with_gps_and_orientation())
    assert response.status_code == 200
    from webapp.extensions import db
    from webapp.storage.store import storage
    from webapp.tables import Image

    with app.app_context():
        row = db.session.scalars(db.select(Image)).one()
        stored = PILImage.open(io.BytesIO(storage().get(row.storage_key)))
        assert stored.size == (30, 60)  # rotated upright
        assert (row.width, row.height) == (30, 60)
        assert not stored.getexif()
        assert "exif" not in stored.info and b"GPS" not in storage().get(row.storage_key)


def test_same_picture_stored_once(app, client, jpeg):
    assert post_image(client, jpeg).status_code == 200
    assert post_image(client, jpeg, name="another-name.jpg").status_code == 200
    from webapp.extensions import db
    from webapp.tables import Classification, Image

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Image.id))) == 1
        assert db.session.scalar(db.select(db.func.count(Classification.id))) == 2
        key = db.session.scalar(db.select(Image.storage_key))
        assert "photo" not in key and "another" not in key  # user filenames are never keys


@needs_corpus
@pytest.mark.parametrize(
    "path", sorted((CORPUS / "refuse").glob("*")) if CORPUS.is_dir() else [], ids=lambda p: p.name
)
def test_hostile_corpus_refused(client, path):
    data = path.read_bytes()
    for name in (path.name, "renamed.jpg"):
        response = post_image(client, data, name=name)
        assert response.status_code == 400, (path.name, response.status_code)
        assert response.json["error"]


@needs_corpus
@pytest.mark.parametrize(
    "path", sorted((CORPUS / "accept").glob("*")) if CORPUS.is_dir() else [], ids=lambda p: p.name
)
def test_odd_but_valid_corpus_accepted(client, path):
    response = post_image(client, path.read_bytes(), name=path.name)
    assert response.status_code == 200, response.json


def test_image_over_pixel_limit_refused(tmp_path):
    from tests.conftest import build_app, make_config

    app = build_app(make_config(tmp_path, MAX_IMAGE_PIXELS=100 * 100))
    response = post_image(app.test_client(), image_bytes("PNG", size=(200, 120)))
    assert response.status_code == 400
    assert "200x120 pixels is too large" in response.json["error"]
