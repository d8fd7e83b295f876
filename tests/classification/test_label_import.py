"""Importing labelled pictures from the admin console (POST /api/admin/tasks/<name>/import).

The console and `flask data import-folder` share webapp/classification/importing.py: the same
label check, the same picture validation, one result line per file.
"""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from tests.conftest import image_bytes

URL = "/api/admin/tasks/gender/import"


def zipped(entries: dict[str, bytes], **info) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, **info) if info else name, data)
    out.seek(0)
    return out


def post_zip(client, admin, archive, name="data.zip"):
    return client.post(
        URL,
        data={"archive": (archive, name)},
        content_type="multipart/form-data",
        headers=admin,
    )


def examples(app, source="console"):
    from webapp.extensions import db
    from webapp.tables import TrainingExample

    with app.app_context():
        rows = db.session.scalars(
            db.select(TrainingExample).where(TrainingExample.source == source)
        ).all()
        return sorted(r.label for r in rows)


def test_zip_import_lists_every_file_and_labels_the_good_ones(app, client, admin):
    archive = zipped(
        {
            "celebs/female/a.jpg": image_bytes(seed=1),
            "celebs/female/b.png": image_bytes("PNG", seed=2),
            "celebs/male/c.jpg": image_bytes(seed=3),
            "celebs/male/broken.jpg": image_bytes(seed=4)[:300],
            "celebs/male/notes.txt": b"hello",
            "celebs/.DS_Store": b"junk",
            "__MACOSX/celebs/female/._a.jpg": b"junk",
        }
    )
    response = post_zip(client, admin, archive)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["added"], body["duplicates"], body["skipped"]) == (3, 0, 2)
    by_name = {f["name"]: f for f in body["files"]}
    assert set(by_name) == {
        "female/a.jpg",
        "female/b.png",
        "male/c.jpg",
        "male/broken.jpg",
        "male/notes.txt",
    }
    assert by_name["male/broken.jpg"]["status"] == "skipped"
    assert "damaged" in by_name["male/broken.jpg"]["reason"]
    assert "not a .jpg" in by_name["male/notes.txt"]["reason"]
    assert examples(app) == ["female", "female", "male"]

    again = post_zip(client, admin, zipped({"female/a.jpg": image_bytes(seed=1)}))
    assert again.status_code == 200 and again.json["duplicates"] == 1
    assert examples(app) == ["female", "female", "male"]


def test_files_dropped_per_label(app, client, admin):
    response = client.post(
        URL,
        data={
            "label": "male",
            "files": [(io.BytesIO(image_bytes(seed=s)), f"p{s}.jpg") for s in range(3)],
        },
        content_type="multipart/form-data",
        headers=admin,
    )
    assert response.status_code == 200 and response.json["added"] == 3, response.json
    assert examples(app) == ["male"] * 3
    wrong = client.post(
        URL,
        data={"label": "cat", "files": [(io.BytesIO(image_bytes()), "p.jpg")]},
        content_type="multipart/form-data",
        headers=admin,
    )
    assert wrong.status_code == 400 and "'female', 'male'" in wrong.json["error"]


def symlink_zip() -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("female/link.jpg")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    out.seek(0)
    return out


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (lambda: zipped({"../female/a.jpg": image_bytes()}), "unsafe path"),
        (lambda: zipped({"/female/a.jpg": image_bytes()}), "unsafe path"),
        (lambda: zipped({"female\\..\\a.jpg": image_bytes()}), "unsafe path"),
        (symlink_zip, "is a link"),
        (lambda: zipped({"female/bomb.jpg": b"\0" * (30 * 1024**2)}), "zip bomb"),
        (lambda: zipped({"cat/a.jpg": image_bytes()}), "unknown: ['cat']"),
        (lambda: zipped({"a.jpg": image_bytes()}), "one folder per label"),
        (lambda: io.BytesIO(image_bytes()), "not a readable zip"),
    ],
)
def test_bad_archives_are_refused_with_a_reason(app, client, admin, archive, message):
    response = post_zip(client, admin, archive())
    assert response.status_code == 400, response.json
    assert message in response.json["error"]
    assert examples(app) == []


def test_too_many_files(app, client, admin, monkeypatch):
    from webapp.classification import importing

    monkeypatch.setattr(importing, "MAX_FILES", 3)
    archive = zipped({f"female/{i}.jpg": image_bytes(seed=i) for i in range(4)})
    response = post_zip(client, admin, archive)
    assert response.status_code == 400 and "at most 3 per import" in response.json["error"]


def test_only_admins_import_and_requests_are_bounded(app, client, admin):
    def archive():
        return zipped({"female/a.jpg": image_bytes()})

    assert post_zip(client, {}, archive()).status_code == 401
    assert client.post(URL, data={}, headers=admin).status_code == 400
    missing = client.post(
        "/api/admin/tasks/nope/import", data={"archive": (archive(), "a.zip")}, headers=admin
    )
    assert missing.status_code == 404 and "No task named 'nope'" in missing.json["error"]
    big = io.BytesIO(b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert post_zip(client, admin, big).status_code == 413


def test_the_command_line_shares_the_rules(app, runner, tmp_path):
    folder = tmp_path / "pictures"
    (folder / "female").mkdir(parents=True)
    (folder / "female" / "a.jpg").write_bytes(image_bytes(seed=7))
    (folder / "female" / "b.jpg").write_bytes(b"not a picture")
    result = runner.invoke(args=["data", "import-folder", str(folder), "--task", "gender"])
    assert result.exit_code == 0, result.output
    assert "imported 1 images, 0 already present, 1 unreadable files skipped" in result.output
    assert examples(app, "folder") == ["female"]
