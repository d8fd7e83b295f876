"""Hypothesis fuzzing of upload validation: no input, however mangled, produces a 500."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import build_app, image_bytes, make_config
from webapp.exceptions import Invalid
from webapp.uploads import validate_image
from webapp.web.errors import status_of

pytestmark = pytest.mark.slow  # Hypothesis: hundreds of generated uploads

SEEDS = [
    image_bytes("JPEG", size=(40, 32)),
    image_bytes("PNG", size=(24, 20)),
    image_bytes("WEBP", size=(32, 24)),
    image_bytes("PNG", size=(16, 16), color=(9, 9, 9), optimize=True),
    image_bytes("JPEG", size=(48, 40), progressive=True),
]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mangled_images(draw) -> bytes:
    """A valid seed picture with bit flips, a truncation, or another file's header spliced in."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] ^= 1 << draw(st.integers(0, 7))
    how = draw(st.sampled_from(["flips", "truncate", "splice", "junk-tail", "overwrite"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "splice":
        other = draw(st.sampled_from(SEEDS))
        cut = draw(st.integers(0, min(len(data), len(other), 200)))
        data = bytearray(other[:cut]) + data[cut:]
    elif how == "junk-tail":
        data += draw(st.binary(max_size=512))
    elif how == "overwrite":
        pos = draw(st.integers(0, len(data) - 1))
        patch = draw(st.binary(min_size=1, max_size=16))
        data[pos : pos + len(patch)] = patch
    return bytes(data)


any_upload = st.one_of(st.binary(max_size=4096), mangled_images())


@FUZZ
@given(data=any_upload)
def test_validator_accepts_or_refuses_with_a_reason(data):
    try:
        image = validate_image(data, max_pixels=4_000_000)
    except Invalid as exc:
        assert status_of(exc) == 400 and exc.message
        return
    assert image.format in ("jpeg", "png", "webp") and image.width >= 1 and image.height >= 1
    again = validate_image(image.data)  # what we keep is itself a valid upload of the same picture
    assert (again.format, again.width, again.height) == (image.format, image.width, image.height)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # a small upload limit so some fuzzed requests take the 413 path too
    app = build_app(
        make_config(tmp_path_factory.mktemp("fuzz"), MAX_UPLOAD_MB=0.004, MAX_CONTENT_LENGTH=4096)
    )
    yield app.test_client()
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()


field_text = st.text(max_size=40)
extra_fields = st.dictionaries(
    st.sampled_from(["task", "label", "image2", "method", "x", "size"]), field_text, max_size=3
)


@FUZZ
@given(
    data=any_upload,
    task=st.one_of(st.none(), st.sampled_from(["gender", "smiling", ""]), field_text),
    filename=st.one_of(st.just("photo.jpg"), st.text(max_size=30)),
    field=st.sampled_from(["image", "image", "img"]),
    extra=extra_fields,
    padding=st.integers(0, 6000),
)
def test_classify_never_500(client, data, task, filename, field, extra, padding):
    form = {k: v for k, v in extra.items() if k != "task"}
    if task is not None:
        form["task"] = task
    form[field] = (io.BytesIO(data + b"\0" * padding if padding > 5000 else data), filename)
    response = client.post("/api/classify", data=form, content_type="multipart/form-data")
    assert response.status_code in (200, 400, 404, 413), (
        response.status_code,
        response.get_data()[:300],
    )
    body = response.get_json()
    if response.status_code == 200:
        assert body["id"] and body["task"] in ("gender", "smiling")
        return
    assert isinstance(body.get("error"), str) and body["error"]
    if response.status_code == 404:  # only an unknown task is "not found"
        assert task not in (None, "", "gender", "smiling") and "No task named" in body["error"]
