"""A newcomer's first hour, below the browser: thumbnails that are not painted yet answer 202
(never 404) and a small JSON says what is ready; the deploy audit log names the version each
move replaced, a rollback's included (it showed "—")."""

from webapp.extensions import db
from webapp.registry import versions
from webapp.storage.service import saving


def test_a_rollback_row_names_the_version_it_replaced(app, client, admin, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text("{}")
    with app.app_context():
        for _ in range(3):
            with saving() as new_keys:
                mv = versions.register_version("echo", "echo", tmp_path / "m", new_keys)
            versions.promote("echo", mv.version, actor="root")
            db.session.commit()
    rows = client.get("/api/admin/deployments?target=echo", headers=admin).json
    assert [(r["version"], r["previous"], r["rolls_back_to"]) for r in rows] == [
        ("v3", "v2", "v2"),
        ("v2", "v1", "v1"),
        ("v1", None, None),
    ]
    assert client.post("/api/admin/models/echo/rollback", headers=admin).status_code == 200
    latest = client.get("/api/admin/deployments?target=echo", headers=admin).json[0]
    assert (latest["action"], latest["version"], latest["previous"]) == ("rollback", "v2", "v3")
    assert latest["rolls_back_to"] == "v1"  # what the confirm step names before a second rollback
    client.post("/api/admin/models/echo/rollback", headers=admin)
    latest = client.get("/api/admin/deployments?target=echo", headers=admin).json[0]
    assert (latest["version"], latest["previous"], latest["rolls_back_to"]) == ("v1", "v2", None)


def test_thumbnails_answer_202_until_painted_and_ready_lists_them(app, client, tmp_path):
    from webapp.storage.service import storage
    from webapp.style import builtin

    assert client.get("/api/styles/preset/ready").json == {
        "networks_ready": False,
        "thumbnails_ready": [],
        "thumbnails_total": 0,
        "ready": False,
    }
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text("{}")
    presets = [{"id": 0, "name": "Style 1"}, {"id": 1, "name": "Style 2"}]
    with app.app_context():
        for target in ("arbitrary", "preset"):
            with saving() as new_keys:
                mv = versions.register_version(
                    target, target, tmp_path / "m", new_keys, config={"presets": presets}
                )
            versions.promote(target, mv.version, actor="system", action="bootstrap")
            db.session.commit()
        second = builtin.presets(mv)[1]  # ids and names are the network's, 1..26
        url, key = second["thumbnail_url"], builtin.thumbnail_key(mv, second["id"])
    waiting = client.get(url)
    assert waiting.status_code == 202 and waiting.headers["Retry-After"] == "2"
    assert "being rendered" in waiting.json["error"]
    assert (
        client.get("/api/styles/preset/27/thumbnail.jpg").status_code == 404
    )  # no such preset (1..26)
    ready = client.get("/api/styles/preset/ready").json
    assert ready["networks_ready"] and ready["thumbnails_ready"] == [] and not ready["ready"]
    with app.app_context():
        storage().put(key, b"\xff\xd8 a jpeg", content_type="image/jpeg")
    painted = client.get(url)
    assert painted.status_code == 200 and painted.mimetype == "image/jpeg"
    ready = client.get("/api/styles/preset/ready").json
    assert ready["thumbnails_ready"] == [second["id"]] and ready["thumbnails_total"] == 26
