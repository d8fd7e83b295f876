"""The deploy audit log names the version each move replaced, a rollback's included (was "—")."""

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
