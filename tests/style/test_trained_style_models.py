"""Trained style models in the product: registered, listed, used through the API, retrained from ratings."""

import io
import subprocess
import sys

import pytest
import yaml

from tests.conftest import image_bytes
from tests.ml.test_style_training import TINY_ADAIN, TINY_CYCLEGAN, _write_images
from tests.services import REPO, Worker, wait_for

pytestmark = pytest.mark.slow


def train_cli(kind: str, overrides: dict, data, out, tmp_path, env):
    """`python -m ml.train ml/configs/<kind>.yaml` on tiny data, the way a user trains one."""
    config = yaml.safe_load((REPO / "ml" / "configs" / f"{kind}.yaml").read_text())
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump({**config, **overrides}))
    done = subprocess.run(
        [sys.executable, "-m", "ml.train", str(path), "--data", str(data), "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def trained_folders(tmp_path_factory):
    """An AdaIN and a CycleGAN folder trained once for the module (training needs no app)."""
    import os

    root = tmp_path_factory.mktemp("style-models")
    data = root / "data"
    for i, name in enumerate(("content", "style", "A", "B")):
        _write_images(data / name, 3, i)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    train_cli("adain", TINY_ADAIN, data, root / "adain", root, env)
    train_cli("cyclegan", TINY_CYCLEGAN, data, root / "sketch", root, env)
    return root


@pytest.fixture
def style_models(trained_folders, runner):
    for target in ("adain", "sketch"):
        result = runner.invoke(args=["models", "register", target, str(trained_folders / target)])
        assert result.exit_code == 0 and f"{target}: v1 deployed" in result.output, result.output
    return trained_folders


def stylize(client, method, with_style=True, seed=0):
    form = {
        "content": (io.BytesIO(image_bytes("PNG", seed=seed)), "c.png"),
        "method": method,
        "size": "64",
    }
    if with_style:
        form["style"] = (io.BytesIO(image_bytes("PNG", seed=seed + 100)), "s.png")
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    return response.json["id"]


def test_deployed_style_models_listed_and_used(app, client, admin, env, tmp_path, style_models):
    styles = {s["method"]: s for s in client.get("/api/styles").json}
    assert styles["adain"]["needs_style_image"] is True and styles["adain"]["model_version"] == "v1"
    assert (
        styles["sketch"]["needs_style_image"] is False and styles["sketch"]["model_version"] == "v1"
    )
    ids = [stylize(client, "adain", seed=i) for i in range(4)] + [
        stylize(client, "sketch", with_style=False)
    ]
    worker = Worker(env, "style", tmp_path / "style.log").start()
    try:
        for sid in ids:
            status = wait_for(
                lambda sid=sid: (
                    (s := client.get(f"/api/stylize/{sid}").json)["status"] in ("done", "failed")
                    and s
                ),
                120,
                message="a style-model job",
            )
            assert status["status"] == "done", (status, worker.output()[-2000:])
            assert client.get(status["result_url"]).mimetype == "image/png"
    finally:
        worker.stop()
    for i, sid in enumerate(ids[:4]):
        assert client.post(f"/api/stylize/{sid}/rating", json={"stars": 5 - i}).status_code == 201

    env = {**env, "STYLE_FINETUNE_STEPS": "2"}
    job_id = client.post("/api/admin/retrain", json={"style": "adain"}, headers=admin).json[
        "job_id"
    ]
    trainer = Worker(env, "train", tmp_path / "train.log").start()
    try:
        job = wait_for(
            lambda: (
                (j := client.get(f"/api/admin/jobs/{job_id}", headers=admin).json)["status"]
                in ("done", "failed")
                and j
            ),
            300,
            interval=1,
            message="the adain retrain",
        )
    finally:
        trainer.stop()
    assert job["status"] == "done", (job, trainer.output()[-3000:])
    result = job["result"]
    assert result["model_version"] == "v2" and result["data_counts"]["styles"] >= 2
    assert "fidelity" in result["metrics"] and result["compared_with"]["model_version"] == "v1"
    assert ("not worse" in result["reason"]) == result["promoted"]
    deployed = {s["method"]: s["model_version"] for s in client.get("/api/styles").json}["adain"]
    assert deployed == ("v2" if result["promoted"] else "v1")
    fixed = client.post("/api/admin/retrain", json={"style": "sketch"}, headers=admin)
    assert fixed.status_code == 202  # queued; its job explains how fixed styles are retrained


def test_the_command_line_registers_lists_promotes_and_rolls_back(runner, style_models):
    """`flask models register|list|promote|rollback` on real folders, through the registry's
    services: a second version waits until promoted, and a rollback serves the first again."""

    def listed() -> list[str]:
        result = runner.invoke(args=["models", "list", "sketch"])
        assert result.exit_code == 0, result.output
        return [" ".join(line.split()[:3]) for line in result.output.splitlines()]

    assert listed() == ["* sketch v1"]
    result = runner.invoke(
        args=["models", "register", "sketch", str(style_models / "sketch"), "--no-promote"]
    )
    assert result.exit_code == 0 and "sketch: registered v2" in result.output, result.output
    assert "deployed" not in result.output and listed() == ["* sketch v1", "sketch v2 cyclegan"]
    result = runner.invoke(args=["models", "promote", "sketch", "v2"])
    assert result.exit_code == 0 and "sketch: v2 deployed" in result.output, result.output
    assert listed() == ["sketch v1 cyclegan", "* sketch v2"]
    result = runner.invoke(args=["models", "rollback", "sketch"])
    assert result.exit_code == 0 and "rolled back to v1" in result.output, result.output
    assert listed() == ["* sketch v1", "sketch v2 cyclegan"]
    result = runner.invoke(args=["models", "register", "sketch", str(style_models)])  # not a model
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
