"""The Flask command line: admins, export, models; one-line errors for a user's mistakes."""

import csv
import io

from tests.conftest import image_bytes


def test_create_admin_then_basic_auth_works(client, runner):
    result = runner.invoke(args=["create-admin", "alice", "--password", "pw-123"])
    assert result.exit_code == 0 and "Admin 'alice' is ready" in result.output
    import base64

    headers = {"Authorization": "Basic " + base64.b64encode(b"alice:pw-123").decode()}
    assert client.get("/api/admin/models/gender", headers=headers).status_code == 200
    again = runner.invoke(args=["create-admin", "alice", "--password", "new-pw"])
    assert again.exit_code == 0  # resets the password
    assert client.get("/api/admin/models/gender", headers=headers).status_code == 401


def test_export_writes_folders_and_manifest(client, runner, tmp_path):
    for seed, label, user in [
        (1, "male", "a"),
        (2, "female", "a"),
        (2, "female", "b"),
        (3, "male", "a"),
    ]:
        where = {"REMOTE_ADDR": f"10.0.0.{ord(user)}"}  # one voter per client address
        client.delete_cookie("cv_client")  # and browser: each photo from a fresh one
        cid = client.post(
            "/api/classify",
            data={"image": (io.BytesIO(image_bytes(seed=seed)), "x.jpg")},
            content_type="multipart/form-data",
            environ_base=where,
        ).json["id"]
        client.post(f"/api/classify/{cid}/feedback", json={"label": label}, environ_base=where)
    result = runner.invoke(args=["data", "export", str(tmp_path / "out"), "--task", "gender"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "out" / "gender"
    assert (
        len(list((root / "male").glob("*.jpg"))) == 2
        and len(list((root / "female").glob("*.jpg"))) == 1
    )
    rows = list(csv.DictReader((root / "manifest.csv").open()))
    assert {r["label"] for r in rows} == {"male", "female"} and len(rows) == 3
    female = [r for r in rows if r["label"] == "female"][0]
    assert (
        female["source"] == "feedback"
        and female["verified"] == "0"
        and female["votes"] == "female:2"
    )
    assert (root / female["path"]).is_file()


def test_models_commands_on_empty_registry(runner):
    assert "No model versions yet" in runner.invoke(args=["models", "list"]).output
    result = runner.invoke(args=["models", "rollback", "gender"])
    assert result.exit_code != 0 and "Nothing to roll back to" in result.output
    result = runner.invoke(args=["models", "promote", "gender", "v7"])
    assert result.exit_code != 0 and "No version 'v7'" in result.output
    result = runner.invoke(args=["models", "register", "gender", "/nonexistent"])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_retrain_unknown_target_fails_cleanly(runner):
    result = runner.invoke(args=["retrain", "unicorns"])
    assert result.exit_code != 0 and "No style model named 'unicorns'" in result.output
