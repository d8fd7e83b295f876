"""A corrupt model file is refused at promotion, and the deployed version keeps serving."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from tests.conftest import image_bytes
from tests.reliability import ADMIN_HEADER

pytestmark = pytest.mark.slow


def variant(model_dir: Path, out: Path) -> Path:
    """The same model with a note added, so its archive (and sha256) differs from every other version."""
    shutil.copytree(model_dir, out)
    (out / "note.txt").write_text(out.name)
    return out


def register(app, model_dir: Path, promote: bool) -> str:
    result = app.test_cli_runner().invoke(
        args=[
            "models",
            "register",
            "gender",
            str(model_dir),
            "--promote" if promote else "--no-promote",
        ]
    )
    assert result.exit_code == 0, result.output
    return result.output.split("registered ")[1].split()[0]


def corrupt_object(app, version: str) -> None:
    """Flip bytes in the middle of the version's archive in storage (same size, wrong sha256)."""
    from webapp.extensions import db
    from webapp.tables import ModelVersion

    with app.app_context():
        mv = db.session.scalar(db.select(ModelVersion).where(ModelVersion.version == version))
        store = app.extensions["storage"]
        data = bytearray(store.get(mv.storage_key))
        data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
        store.put(mv.storage_key, bytes(data))
        db.session.remove()


def corrupt_cache(app, version: str) -> None:
    """Unpack the version into this machine's model cache, then truncate its weights there."""
    from webapp.extensions import db
    from webapp.registry import versions as registry
    from webapp.tables import ModelVersion

    with app.app_context():
        mv = db.session.scalar(db.select(ModelVersion).where(ModelVersion.version == version))
        weights = registry.local_dir(mv) / "model.keras"
        weights.write_bytes(weights.read_bytes()[:1000])
        db.session.remove()


def classify(url: str) -> dict:
    response = requests.post(
        f"{url}/api/classify",
        files={"image": ("a.jpg", image_bytes(seed=5))},
        data={"task": "gender"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_corrupt_versions_refused_and_deployed_keeps_serving(
    trained_model, migrated, serve, tmp_path
):
    app, env = migrated()
    assert [
        register(app, variant(trained_model, tmp_path / f"m{n}"), promote=(n == 1))
        for n in (1, 2, 3)
    ] == ["v1", "v2", "v3"]
    corrupt_object(app, "v2")
    corrupt_cache(app, "v3")
    server = serve(env, workers=2)
    assert classify(server.url)["model_version"] == "v1"

    for version, reason in (("v2", "corrupt"), ("v3", "cannot be loaded")):
        response = requests.post(
            f"{server.url}/api/admin/models/gender/{version}/promote",
            headers=ADMIN_HEADER,
            timeout=120,
        )
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert "Refused" in error and version in error and reason in error, error

    for _ in range(4):  # both web workers, whichever took the promote requests
        body = classify(server.url)
        assert body["model_version"] == "v1" and body["label"] in ("female", "male")
    versions = requests.get(
        f"{server.url}/api/admin/models/gender", headers=ADMIN_HEADER, timeout=30
    ).json()
    assert {v["version"]: v["deployed"] for v in versions} == {"v1": True, "v2": False, "v3": False}
    assert "Traceback" not in server.output()
